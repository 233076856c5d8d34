"""The timeline (SPEC §8.1–8.3): effective times, exact cost basis, cash amounts, splits,
anchor facts, replay checkpoints, and each portfolio's cost basis method.

The new columns are added in place (nullable, so no table is rebuilt) and filled from what
revision 1 stored: a trade's cash amount is the exact q·P it moved; a position opens at its
creation or its first fact, whichever is earlier, with the anchor its `position_created`
event recorded; anchors set by hand (`anchor_updated` events of cause set/reset) become
anchor facts. Each position is then replayed once; where the stored anchor is not what the
replay gives (revision 1 kept the anchor of a voided fill), an anchor fact at the position's
last change keeps it. The replayed figures are stored (for a ledger typed in time order they
are the stored ones), so the upgraded ledger passes `vb db check`.

Revision ID: 0002
Revises: 0001
"""
import json
from datetime import datetime

from alembic import op
import sqlalchemy as sa
import vbcli.store.columns


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _schema() -> None:
    op.add_column('portfolios', sa.Column('cost_basis', sa.String(length=8), nullable=True))
    op.add_column('positions', sa.Column('cost_basis', vbcli.store.columns.ExactDecimal(), nullable=True))
    op.add_column('positions', sa.Column('opening_anchor', vbcli.store.columns.ExactDecimal(), nullable=True))
    op.add_column('positions', sa.Column('opened_at', vbcli.store.columns.UTCDateTime(), nullable=True))
    op.add_column('trades', sa.Column('cash_amount', vbcli.store.columns.ExactDecimal(), nullable=True))
    op.create_table('splits',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=False),
    sa.Column('ratio_new', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('ratio_old', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('updated_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_splits_position', 'splits', ['position_id', 'effective_date'], unique=False)
    op.create_table('anchor_resets',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=False),
    sa.Column('price', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_anchor_resets_position', 'anchor_resets', ['position_id', 'at'], unique=False)
    op.create_table('position_checkpoints',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('position_id', sa.String(length=40), nullable=False),
    sa.Column('at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('facts', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_position_checkpoints_position', 'position_checkpoints', ['position_id', 'at'], unique=False)


def upgrade() -> None:
    _schema()
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE portfolios SET cost_basis = 'average'"))
    conn.execute(sa.text("UPDATE trades SET cash_amount = notional"))
    _fill_positions(conn)


def _first_times(conn) -> dict[str, datetime]:  # type: ignore[no-untyped-def]
    from vbcli.domain.facts import start_of
    from vbcli.store.tables import CashFlow, Dividend, Trade

    first: dict[str, datetime] = {}

    def seen(position_id: str, at: datetime) -> None:
        if position_id not in first or at < first[position_id]:
            first[position_id] = at

    t, c, d = Trade.__table__.c, CashFlow.__table__.c, Dividend.__table__.c
    for row in conn.execute(sa.select(t.position_id, sa.func.min(t.executed_at)).group_by(t.position_id)):
        seen(row[0], row[1])
    for row in conn.execute(sa.select(c.position_id, sa.func.min(c.ts)).group_by(c.position_id)):
        seen(row[0], row[1])
    for row in conn.execute(sa.select(d.position_id, d.ex_date).where(d.status != "announced")):
        seen(row[0], start_of(row[1]))
    return first


def _events(conn):  # type: ignore[no-untyped-def]
    from vbcli.store.tables import Event

    e = Event.__table__.c
    return conn.execute(sa.select(e.type, e.position_id, e.ts, e.data).where(
        e.type.in_(("position_created", "anchor_updated"))).order_by(e.seq)).all()


def _fill_positions(conn) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from vbcli.domain.ids import new_id
    from vbcli.store.tables import AnchorReset, Position

    p, a = Position.__table__.c, AnchorReset.__table__.c
    first = _first_times(conn)
    opening_anchor: dict[str, Decimal | None] = {}
    anchors = []
    for kind, position_id, ts, data in _events(conn):
        values = json.loads(data or "{}")
        if kind == "position_created":
            opening_anchor[position_id] = Decimal(values["anchor"]) if values.get("anchor") else None
        elif values.get("cause") in ("set", "reset") and values.get("new"):
            anchors.append({"id": new_id("anchor"), "position_id": position_id, "price": Decimal(values["new"]), "at": ts,
                            "cause": "set" if values["cause"] == "set" else "evaluate"})
    if anchors:
        conn.execute(AnchorReset.__table__.insert(), anchors)
    rows = conn.execute(sa.select(p.id, p.created_at, p.anchor)).all()
    for row in rows:
        opened = min(row.created_at, first.get(row.id, row.created_at))
        # Without a creation event (APP_EVENTS=memory) the opening anchor is unknown: the stored one.
        anchor = opening_anchor[row.id] if row.id in opening_anchor else row.anchor
        conn.execute(sa.update(Position.__table__).where(p.id == row.id).values(opened_at=opened, opening_anchor=anchor))
    columns = ("id", "portfolio_id", "qty", "anchor", "avg_cost", "updated_at", "opened_at", "opening_qty", "opening_cash",
               "opening_avg_cost", "opening_anchor")  # named, so later revisions' columns do not matter here
    for row in conn.execute(sa.select(*(p[name] for name in columns))).all():
        _replay_one(conn, row)


def _replay_one(conn, position) -> None:  # type: ignore[no-untyped-def]
    """Store the replay's figures; an anchor fact keeps an anchor the replay does not explain."""
    from vbcli.domain.facts import AnchorSet, TimelineError
    from vbcli.domain.ids import new_id, record_seq
    from vbcli.domain.timeline import replay
    from vbcli.store.history import load_history
    from vbcli.store.tables import AnchorReset, Portfolio, Position, Trade

    currency = conn.execute(sa.select(Portfolio.__table__.c.currency).where(Portfolio.__table__.c.id == position.portfolio_id)).scalar()
    history = load_history(conn, position, None, lots=False)  # trades.lots comes with 0004
    try:
        result = replay(history.facts, currency=currency or "USD")
        if position.anchor is not None and result.state.anchor != position.anchor:
            last = max([position.updated_at, *(fact.at for fact in history.facts)])
            anchor_id = new_id("anchor")
            conn.execute(AnchorReset.__table__.insert().values(id=anchor_id, position_id=position.id, price=position.anchor,
                                                               at=last, cause="migration"))
            history.facts.append(AnchorSet(price=position.anchor, at=last, seq=record_seq(anchor_id)))
            result = replay(history.facts, currency=currency or "USD")
    except TimelineError:
        # Facts typed out of time order that the timeline cannot explain: keep the figures; `db check` names them.
        conn.execute(sa.update(Position.__table__).where(Position.__table__.c.id == position.id).values(
            cost_basis=(position.avg_cost or 0) * position.qty))
        return
    state = result.state
    conn.execute(sa.update(Position.__table__).where(Position.__table__.c.id == position.id).values(
        qty=state.qty, cash=state.cash, cost_basis=state.cost_basis, avg_cost=state.avg_cost,
        anchor=state.anchor if state.anchor > 0 else None, dividend_receivable=state.receivable,
        realized_pnl=state.realized_pnl, total_commission=state.total_commission, total_dividends=state.total_dividends))
    t = Trade.__table__.c
    for trade_id, outcome in result.fills.items():
        stored = history.trades[trade_id]
        if (stored["realized_pnl"], stored["anchor_before"]) != (outcome.realized_pnl, outcome.anchor_before or None):
            conn.execute(sa.update(Trade.__table__).where(t.id == trade_id).values(
                realized_pnl=outcome.realized_pnl, anchor_before=outcome.anchor_before if outcome.anchor_before > 0 else None))


def downgrade() -> None:
    op.drop_index('ix_position_checkpoints_position', table_name='position_checkpoints')
    op.drop_table('position_checkpoints')
    op.drop_index('ix_anchor_resets_position', table_name='anchor_resets')
    op.drop_table('anchor_resets')
    op.drop_index('ix_splits_position', table_name='splits')
    op.drop_table('splits')
    with op.batch_alter_table('trades') as batch_op:
        batch_op.drop_column('cash_amount')
    with op.batch_alter_table('positions') as batch_op:
        batch_op.drop_column('opened_at')
        batch_op.drop_column('opening_anchor')
        batch_op.drop_column('cost_basis')
    with op.batch_alter_table('portfolios') as batch_op:
        batch_op.drop_column('cost_basis')
