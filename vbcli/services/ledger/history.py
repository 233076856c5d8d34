"""A position's facts for valuation (the report), read in a few indexed queries.

The opening, deposits and withdrawals, applied splits, applied ex-dates and payments of
dividends as domain facts, and the executed fills as FillRows (a report reads 100 000s, so
they come from the driver's cursor), each sell with its stored realized P&L (what the replay
derived for it, so the report never re-runs the lot booking). `seq` is record order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from vbcli.domain.facts import Deposit, DividendEx, DividendPay, Fact, Opening, Split, Withdrawal
from vbcli.domain.valuation import FILL_RANK, FillRow
from vbcli.store import rawread
from vbcli.store.history import opening_fact
from vbcli.store.tables import CashFlow, Dividend, Position, Split as SplitRow, Trade


@dataclass
class History:
    position: Position
    facts: list[Fact] = field(default_factory=list)
    fills: list[FillRow] = field(default_factory=list)

    @property
    def flow_times(self) -> list[datetime]:
        return [f.at for f in self.facts if isinstance(f, (Opening, Deposit, Withdrawal))]


def load(session: Session, position: Position, until: datetime | None = None) -> History:
    """The facts of `position` with an effective time before `until` (all when None)."""
    history = History(position)
    facts = history.facts
    facts.append(opening_fact(position))
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
    sp = SplitRow.__table__.c  # type: ignore[attr-defined]
    splits = select(sp.id, sp.ratio_new, sp.ratio_old, sp.effective_date).where(sp.position_id == position.id,
                                                                               sp.status == "applied")
    for row in conn.execute(splits.order_by(sp.effective_date, sp.id)):
        facts.append(Split(split_id=row.id, new=row.ratio_new, old=row.ratio_old, on=row.effective_date, seq=len(facts)))
    d = Dividend.__table__.c  # type: ignore[attr-defined]
    dividends = select(d.id, d.per_share, d.withholding, d.ex_date).where(d.position_id == position.id, d.gross.is_not(None))
    for row in conn.execute(dividends.order_by(d.ex_date, d.id)):
        facts.append(DividendEx(dividend_id=row.id, per_share=row.per_share, withholding=row.withholding, ex_date=row.ex_date,
                                seq=len(facts)))
    _fills(session, history, until)
    return history


def _fills(session: Session, history: History, until: datetime | None) -> None:
    t = Trade.__table__.c  # type: ignore[attr-defined]
    query = select(t.executed_at, t.side, t.qty, t.price, t.commission, t.realized_pnl, t.cash_amount).where(
        t.position_id == history.position.id, t.status == "executed")
    if until is not None:
        query = query.where(t.executed_at < until)
    dialect = session.connection().dialect
    decimal, time = rawread.decimals(dialect), rawread.times(dialect)
    shared = rawread.Memo(decimal)  # quantities, prices and commissions recur: each distinct cell is read once
    seq, row = len(history.facts), tuple.__new__  # FillRow's NamedTuple __new__ is Python code: 100 000s of calls
    history.fills = [
        row(FillRow, (time(at), FILL_RANK, seq + n, side, shared[qty], shared[price], shared[commission],
                      decimal(realized) if side == "sell" else None, None if cash is None else shared[cash]))
        for n, (at, side, qty, price, commission, realized, cash) in enumerate(
            rawread.driver_rows(session, query.order_by(t.executed_at, t.id)))]
