"""A position's facts (SPEC §8.1) as stored, with the figures stored for them.

Reads explicit columns with SQLAlchemy Core on a plain connection, so both the services and
the 0002 migration load facts the same way. The record order of a fact (ties at one instant)
is its id's ULID (`domain.ids.record_seq`); the opening sorts first by its phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from vbcli.domain.facts import (
    AnchorSet, Deposit, DividendEx, DividendPay, Fact, Fill, LotPick, Opening, Split, Withdrawal,
)
from vbcli.domain.ids import record_seq
from vbcli.domain.numbers import ZERO
from vbcli.domain.picks import from_text
from vbcli.store.tables import AnchorReset, CashFlow, Dividend, Split as SplitRow, Trade

Figures = dict[str, Decimal | None]
TRADE_FIGURES = ("cash_amount", "realized_pnl", "anchor_before")
DIVIDEND_FIGURES = ("qty", "gross", "tax", "net")


@dataclass
class History:
    """Facts of one position from a time on, and what is stored for its trades and dividends."""

    facts: list[Fact] = field(default_factory=list)
    trades: dict[str, Figures] = field(default_factory=dict)
    dividends: dict[str, Figures] = field(default_factory=dict)


def opened_at(position: Any) -> datetime:
    """When the position opened (rows written without the 0002 columns: its creation)."""
    return position.opened_at or position.created_at


def opening_fact(position: Any) -> Opening:
    """The opening: its shares at the opening cost (--avg-cost, else the anchor)."""
    return Opening(at=opened_at(position), qty=position.opening_qty, cash=position.opening_cash,
                   cost_per_share=position.opening_avg_cost or ZERO, anchor=position.opening_anchor or ZERO)


def fill_fact(trade_id: str, side: str, qty: Decimal, price: Decimal, commission: Decimal, at: datetime,
              cash_amount: Decimal | None = None, lots: tuple[LotPick, ...] = ()) -> Fill:
    return Fill(trade_id=trade_id, side=side, qty=qty, price=price, commission=commission, at=at,
                seq=record_seq(trade_id), cash_amount=cash_amount, lots=lots)


def load_history(conn: Connection, position: Any, since: datetime | None, *, lots: bool = True) -> History:
    """Every fact of `position` whose effective time is `since` or later (all of them for None).

    `lots=False` reads no named lots (a ledger before revision 0004 has no such column).
    """
    history = History()
    if since is None or opened_at(position) >= since:
        history.facts.append(opening_fact(position))
    _trades(conn, position.id, since, history, lots)
    _cash_flows(conn, position.id, since, history)
    _dividends(conn, position.id, since, history)
    _splits(conn, position.id, since, history)
    _anchors(conn, position.id, since, history)
    if since is not None:
        history.facts = [fact for fact in history.facts if fact.at >= since]
    return history


def _trades(conn: Connection, position_id: str, since: datetime | None, history: History, lots: bool) -> None:
    t = Trade.__table__.c  # type: ignore[attr-defined]
    columns = [t.id, t.side, t.qty, t.price, t.commission, t.executed_at, t.cash_amount, t.realized_pnl, t.anchor_before]
    query = select(*columns, *([t.lots] if lots else [])).where(t.position_id == position_id, t.status == "executed")
    if since is not None:
        query = query.where(t.executed_at >= since)
    for row in conn.execute(query):
        picks = from_text(row.lots) if lots else ()
        history.facts.append(fill_fact(row.id, row.side, row.qty, row.price, row.commission, row.executed_at, row.cash_amount, picks))
        history.trades[row.id] = {name: getattr(row, name) for name in TRADE_FIGURES}


def _cash_flows(conn: Connection, position_id: str, since: datetime | None, history: History) -> None:
    c = CashFlow.__table__.c  # type: ignore[attr-defined]
    query = select(c.id, c.kind, c.amount, c.ts, c.ref_id).where(c.position_id == position_id)
    if since is not None:
        query = query.where(c.ts >= since)
    for row in conn.execute(query):
        seq = record_seq(row.id)
        if row.kind == "deposit":
            history.facts.append(Deposit(amount=row.amount, at=row.ts, seq=seq))
        elif row.kind == "withdrawal":
            history.facts.append(Withdrawal(amount=-row.amount, at=row.ts, seq=seq))
        else:
            history.facts.append(DividendPay(dividend_id=row.ref_id or "", at=row.ts, seq=seq))


def _dividends(conn: Connection, position_id: str, since: datetime | None, history: History) -> None:
    d = Dividend.__table__.c  # type: ignore[attr-defined]
    query = select(d.id, d.per_share, d.withholding, d.ex_date, d.qty, d.gross, d.tax, d.net).where(
        d.position_id == position_id, d.status.in_(("receivable", "paid")))
    if since is not None:
        query = query.where(d.ex_date >= since.date())
    for row in conn.execute(query):
        history.facts.append(DividendEx(dividend_id=row.id, per_share=row.per_share, withholding=row.withholding,
                                        ex_date=_date(row.ex_date), seq=record_seq(row.id)))
        history.dividends[row.id] = {name: getattr(row, name) for name in DIVIDEND_FIGURES}


def _splits(conn: Connection, position_id: str, since: datetime | None, history: History) -> None:
    s = SplitRow.__table__.c  # type: ignore[attr-defined]
    query = select(s.id, s.ratio_new, s.ratio_old, s.effective_date).where(s.position_id == position_id, s.status == "applied")
    if since is not None:
        query = query.where(s.effective_date >= since.date())
    for row in conn.execute(query):
        history.facts.append(Split(split_id=row.id, new=row.ratio_new, old=row.ratio_old, on=_date(row.effective_date),
                                   seq=record_seq(row.id)))


def _anchors(conn: Connection, position_id: str, since: datetime | None, history: History) -> None:
    a = AnchorReset.__table__.c  # type: ignore[attr-defined]
    query = select(a.id, a.price, a.at).where(a.position_id == position_id)
    if since is not None:
        query = query.where(a.at >= since)
    for row in conn.execute(query):
        history.facts.append(AnchorSet(price=row.price, at=row.at, seq=record_seq(row.id)))


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))

