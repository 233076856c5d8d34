"""`vb db check`: storage integrity plus the ledger's invariants, every problem collected as data.

The pure checks (positions against their history, orders against their trades, the audit
hash chain) take plain rows and return Problems, so tests call them directly; `check` reads
the ledger in one read transaction, streaming the large tables.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from vbcli.domain.numbers import CONTEXT, ZERO, fmt
from vbcli.services.shared.audit import event_hash
from vbcli.services.io.source import stream
from vbcli.services.upkeep.eventcheck import event_problems
from vbcli.store.tables import CashFlow, Dividend, Event, LedgerHead, Order, Position, Trade


@dataclass(frozen=True)
class Problem:
    where: str  # the object: "position pos_… (AAPL)", "event 12", "sqlite"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Totals:
    """A position's history, summed: executed fills, cash flows and receivable dividends."""

    qty: Decimal = ZERO
    cash: Decimal = ZERO
    commission: Decimal = ZERO
    realized: Decimal = ZERO
    flows: Decimal = ZERO
    dividends_paid: Decimal = ZERO
    receivable: Decimal = ZERO
    fills: int = field(default=0)

    def add_fill(self, side: str, qty: Decimal, price: Decimal, commission: Decimal, realized: Decimal) -> None:
        notional = CONTEXT.multiply(qty, price)
        sign = 1 if side == "buy" else -1
        self.qty += sign * qty
        self.cash += -(notional + commission) if side == "buy" else notional - commission
        self.commission += commission
        self.realized += realized
        self.fills += 1


def position_problems(pos: Any, totals: Totals) -> list[Problem]:
    """The stored position equals its opening values plus its history; no negative holdings."""
    where = f"position {pos.id} ({pos.symbol})"
    expected = {
        "qty": pos.opening_qty + totals.qty,
        "cash": pos.opening_cash + totals.cash + totals.flows,
        "dividend_receivable": totals.receivable,
        "realized_pnl": totals.realized,
        "total_commission": totals.commission,
        "total_dividends": totals.dividends_paid,
    }
    found = [Problem(where, f"{name} is {fmt(getattr(pos, name))} but its history gives {fmt(value)}")
             for name, value in expected.items() if getattr(pos, name) != value]
    for name in ("qty", "cash"):
        if getattr(pos, name) < 0:
            found.append(Problem(where, f"{name} is negative ({fmt(getattr(pos, name))})"))
    return found


def order_problems(order_id: str, qty: Decimal, filled_qty: Decimal, traded: Decimal) -> list[Problem]:
    """An order's filled_qty equals the sum of its executed trades and never exceeds its qty."""
    found = []
    if filled_qty != traded:
        found.append(Problem(f"order {order_id}", f"filled_qty is {fmt(filled_qty)} but its executed trades sum to {fmt(traded)}"))
    if filled_qty > qty:
        found.append(Problem(f"order {order_id}", f"filled_qty {fmt(filled_qty)} exceeds its qty {fmt(qty)}"))
    return found


def chain_problems(events: Iterable[Any], head_count: int | None, head_hash: str | None) -> list[Problem]:
    """Walk the events in seq order: gaps, broken links, altered rows, a head that does not match.

    After a problem the walk continues from the stored hash, so one damaged event gives one
    report rather than a cascade.
    """
    found: list[Problem] = []
    prev_hash, prev_seq = "", 0
    for event in events:
        where = f"event {event.seq} ({event.id})"
        if event.seq != prev_seq + 1:
            gap = f"{prev_seq + 1}" if event.seq == prev_seq + 2 else f"{prev_seq + 1}–{event.seq - 1}"
            found.append(Problem(where, f"events with seq {gap} are missing (removed?)"))
        elif event.prev_hash != prev_hash:
            found.append(Problem(where, "its prev_hash does not match the event before it (inserted or reordered?)"))
        if event_hash(event.prev_hash, event) != event.hash:
            found.append(Problem(where, "its contents do not match its hash (altered?)"))
        prev_hash, prev_seq = event.hash, event.seq
    if head_count is not None and (head_count, head_hash) != (prev_seq, prev_hash):
        if head_count > prev_seq:
            found.append(Problem("ledger_head", f"the chain should end at event {head_count} but ends at {prev_seq} (events removed?)"))
        else:
            found.append(Problem("ledger_head", f"the head records event {head_count} but the chain ends at {prev_seq} with another hash (events added or altered?)"))
    return found


def _integrity(session: Session) -> list[Problem]:
    if session.info.get("vb_dialect") != "sqlite":
        return []
    conn = session.connection()
    found = [Problem("sqlite", str(row[0])) for row in conn.exec_driver_sql("PRAGMA integrity_check") if row[0] != "ok"]
    found += [Problem("sqlite", f"{row[0]} row {row[1]} refers to a missing {row[2]} row")
              for row in conn.exec_driver_sql("PRAGMA foreign_key_check")]
    return found


def _totals(session: Session) -> dict[str, Totals]:
    totals: dict[str, Totals] = defaultdict(Totals)
    t = Trade.__table__.c  # type: ignore[attr-defined]
    fills = select(t.position_id, t.side, t.qty, t.price, t.commission, t.realized_pnl).where(t.status == "executed")
    for row in stream(session, fills):
        totals[row.position_id].add_fill(row.side, row.qty, row.price, row.commission, row.realized_pnl)
    for row in stream(session, select(CashFlow.position_id, CashFlow.kind, CashFlow.amount)):
        totals[row.position_id].flows += row.amount
        if row.kind == "dividend":
            totals[row.position_id].dividends_paid += row.amount
    receivable = select(Dividend.position_id, Dividend.net).where(Dividend.status == "receivable")
    for row in stream(session, receivable):
        totals[row.position_id].receivable += row.net or ZERO
    return totals


def _orders(session: Session) -> Iterable[Problem]:
    o, t = Order.__table__.c, Trade.__table__.c  # type: ignore[attr-defined]
    stmt = (select(o.id, o.qty, o.filled_qty, t.qty.label("trade_qty"))
            .outerjoin(Trade.__table__, and_(t.order_id == o.id, t.status == "executed")).order_by(o.id))
    for order_id, group in itertools.groupby(stream(session, stmt), key=lambda row: row.id):
        rows = list(group)
        traded = sum((row.trade_qty for row in rows if row.trade_qty is not None), ZERO)
        yield from order_problems(order_id, rows[0].qty, rows[0].filled_qty, traded)


def check(session: Session) -> dict[str, Any]:
    """Every problem of the ledger, and what was checked."""
    problems = _integrity(session)
    totals = _totals(session)
    positions = session.connection().execute(select(Position.__table__).order_by(Position.id)).all()  # type: ignore[arg-type, attr-defined]
    for pos in positions:
        problems += position_problems(pos, totals.get(pos.id, Totals()))
    known = {pos.id for pos in positions}
    problems += [Problem(f"position {pid}", "has trades or cash flows but does not exist") for pid in totals if pid not in known]
    problems += list(_orders(session))
    problems += event_problems(session)  # events against rows: services/upkeep/eventcheck.py
    head = session.get(LedgerHead, 1)
    events = stream(session, select(Event.__table__).order_by(Event.seq))  # type: ignore[arg-type, attr-defined]
    problems += chain_problems(events, head.event_count if head else None, head.last_hash if head else None)
    checked = {"positions": len(positions), "fills": sum(t.fills for t in totals.values()),
               "events": head.event_count if head else 0}
    return {"ok": not problems, "problems": [str(p) for p in problems], "checked": checked}
