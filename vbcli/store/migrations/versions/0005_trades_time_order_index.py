"""A position's trades in time and record order straight from the index.

Every reader of one position's trades (the report, the timeline replay, `trades list`) orders
them by executed_at, then id (record order at one instant). With id in the index SQLite reads
them in that order instead of sorting each run of ties in a temporary B-tree; the old
(position_id, executed_at) index is a prefix of the new one, so nothing else loses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:00:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_trades_position_executed', table_name='trades')
    op.create_index('ix_trades_position_executed', 'trades', ['position_id', 'executed_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_trades_position_executed', table_name='trades')
    op.create_index('ix_trades_position_executed', 'trades', ['position_id', 'executed_at'])
