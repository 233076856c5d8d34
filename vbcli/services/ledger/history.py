"""A position's facts for valuation (the report), read in a few indexed queries.

The opening, deposits and withdrawals, applied ex-dates and payments of dividends, and the
executed fills, as domain facts in record order (`seq`), plus each sell's stored realized
P&L (what the replay derived for it, so the report never re-runs the lot booking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from vbcli.domain.facts import Deposit, DividendEx, DividendPay, Fact, Fill, Opening, Withdrawal
from vbcli.domain.numbers import ZERO
from vbcli.store.tables import CashFlow, Dividend, Position, Trade

CHUNK = 5000


@dataclass
class History:
    position: Position
    facts: list[Fact] = field(default_factory=list)
    realized: dict[str, Decimal] = field(default_factory=dict)

    @property
    def flow_times(self) -> list[datetime]:
        return [f.at for f in self.facts if isinstance(f, (Opening, Deposit, Withdrawal))]


def load(session: Session, position: Position, until: datetime | None = None) -> History:
    """The facts of `position` with an effective time before `until` (all when None)."""
    history = History(position)
    facts = history.facts
    facts.append(Opening(at=position.created_at, qty=position.opening_qty, cash=position.opening_cash,
                         cost_per_share=position.opening_avg_cost or ZERO, anchor=position.anchor or ZERO, seq=0))
    conn = session.connection()
    c = CashFlow.__table__.c  # type: ignore[attr-defined]
    flows = select(c.id, c.kind, c.amount, c.ts, c.ref_id).where(c.position_id == position.id)
    if until is not None:
        flows = flows.where(c.ts < until)
    for row in conn.execute(flows.order_by(c.ts, c.id)):
        seq = len(facts)
        if row.kind == "deposit":
            facts.append(Deposit(amount=row.amount, at=row.ts, seq=seq))
        elif row.kind == "withdrawal":
            facts.append(Withdrawal(amount=-row.amount, at=row.ts, seq=seq))
        elif row.ref_id:
            facts.append(DividendPay(dividend_id=row.ref_id, at=row.ts, seq=seq))
    d = Dividend.__table__.c  # type: ignore[attr-defined]
    dividends = select(d.id, d.per_share, d.withholding, d.ex_date).where(d.position_id == position.id, d.gross.is_not(None))
    for row in conn.execute(dividends.order_by(d.ex_date, d.id)):
        facts.append(DividendEx(dividend_id=row.id, per_share=row.per_share, withholding=row.withholding, ex_date=row.ex_date,
                                seq=len(facts)))
    _fills(session, history, until)
    return history


def _fills(session: Session, history: History, until: datetime | None) -> None:
    t = Trade.__table__.c  # type: ignore[attr-defined]
    query = select(t.id, t.side, t.qty, t.price, t.commission, t.executed_at, t.realized_pnl).where(
        t.position_id == history.position.id, t.status == "executed")
    if until is not None:
        query = query.where(t.executed_at < until)
    facts, realized = history.facts, history.realized
    for row in session.connection().execute(query.order_by(t.executed_at, t.id).execution_options(yield_per=CHUNK)):
        facts.append(Fill(trade_id=row.id, side=row.side, qty=row.qty, price=row.price, commission=row.commission,
                          at=row.executed_at, seq=len(facts)))
        if row.side == "sell":
            realized[row.id] = row.realized_pnl
