"""Initial schema: portfolios, positions, orders, trades, cash flows, dividends, events, keys.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 07:03:24.132510
"""
from alembic import op
import sqlalchemy as sa
import vbcli.store.columns


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('ts', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=True),
    sa.Column('order_id', sa.String(length=40), nullable=True),
    sa.Column('trade_id', sa.String(length=40), nullable=True),
    sa.Column('message', sa.String(length=4000), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_position_ts', ['position_id', 'ts'], unique=False)
        batch_op.create_index('ix_events_ts', ['ts'], unique=False)
        batch_op.create_index('ix_events_type', ['type'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('ledger_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('portfolios',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('updated_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('vb_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('positions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('portfolio_id', sa.String(length=40), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('qty', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('cash', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('anchor', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('avg_cost', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('dividend_receivable', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('realized_pnl', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('total_commission', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('total_dividends', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('opening_qty', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('opening_cash', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('opening_avg_cost', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('trigger_up', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('trigger_down', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('rebalance_ratio', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('commission_rate', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('min_qty', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('min_notional', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('lot_size', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('qty_step', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('below_min', sa.String(length=8), nullable=False),
    sa.Column('auto_rebalance', sa.Boolean(), nullable=False),
    sa.Column('anchor_reset', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('min_stock_alloc', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('max_stock_alloc', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('max_trade', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('max_orders_per_day', sa.Integer(), nullable=False),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('updated_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('closed_at', vbcli.store.columns.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_positions_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index('ix_positions_symbol', ['symbol'], unique=False)
        batch_op.create_index('ux_positions_open_symbol', ['portfolio_id', 'symbol'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('cash_flows',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('ts', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('ref_id', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cash_flows', schema=None) as batch_op:
        batch_op.create_index('ix_cash_flows_position', ['position_id', 'ts'], unique=False)

    op.create_table('dividends',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=False),
    sa.Column('per_share', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('ex_date', sa.Date(), nullable=False),
    sa.Column('pay_date', sa.Date(), nullable=True),
    sa.Column('withholding', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('qty', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('gross', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('tax', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('net', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('updated_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dividends', schema=None) as batch_op:
        batch_op.create_index('ix_dividends_position', ['position_id', 'ex_date'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('qty', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('limit_price', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('filled_qty', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('avg_fill_price', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('commission_rate', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('forced', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('updated_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_position_created', ['position_id', 'created_at'], unique=False)

    op.create_table('trades',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('qty', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('price', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('commission', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('notional', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('realized_pnl', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('anchor_before', vbcli.store.columns.ExactDecimal(), nullable=True),
    sa.Column('executed_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('void_reason', sa.String(length=2000), nullable=False),
    sa.Column('voided_at', vbcli.store.columns.UTCDateTime(), nullable=True),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.create_index('ix_trades_executed', ['executed_at'], unique=False)
        batch_op.create_index('ix_trades_order', ['order_id'], unique=False)
        batch_op.create_index('ix_trades_position_executed', ['position_id', 'executed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.drop_index('ix_trades_position_executed')
        batch_op.drop_index('ix_trades_order')
        batch_op.drop_index('ix_trades_executed')

    op.drop_table('trades')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_position_created')

    op.drop_table('orders')
    with op.batch_alter_table('dividends', schema=None) as batch_op:
        batch_op.drop_index('ix_dividends_position')

    op.drop_table('dividends')
    with op.batch_alter_table('cash_flows', schema=None) as batch_op:
        batch_op.drop_index('ix_cash_flows_position')

    op.drop_table('cash_flows')
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.drop_index('ux_positions_open_symbol', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_positions_symbol')
        batch_op.drop_index(batch_op.f('ix_positions_portfolio_id'))

    op.drop_table('positions')
    op.drop_table('vb_meta')
    op.drop_table('portfolios')
    op.drop_table('ledger_head')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_type')
        batch_op.drop_index('ix_events_ts')
        batch_op.drop_index('ix_events_position_ts')

    op.drop_table('events')
