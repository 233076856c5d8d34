"""`vb db check`, events against rows: every row that an event records must say what its event
says (a forged opening cash, an edited fill or deposit shows even when every sum agrees).

Each check takes the session and returns problems; `event_problems` runs them all. Rows
written with APP_EVENTS=memory (marked by the store, see store/stamps.py) have no events and
are not reported as missing them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from vbcli.domain.numbers import fmt
from vbcli.services.io.source import ordered, stream
from vbcli.store import stamps
from vbcli.store.tables import CashFlow, Event, Position, Trade


@dataclass(frozen=True)
class Finding:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


Check = Callable[[Session, list[tuple[int, int]]], Iterable[Finding]]


def _data(row: Any) -> dict[str, Any]:
    try:
        value = json.loads(row.data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _same(stored: Any, recorded: Any) -> bool:
    """A stored value against the JSON its event recorded (decimals as strings, RFC 3339 times)."""
    if stored is None or recorded is None:
        return stored is None and recorded is None
    if isinstance(stored, Decimal):
        try:
            return stored == Decimal(str(recorded))
        except InvalidOperation:
            return False
    if isinstance(stored, datetime):
        try:
            return stored == datetime.fromisoformat(str(recorded).replace("Z", "+00:00"))
        except ValueError:
            return False
    return bool(stored == recorded)


def _differences(where: str, row: Any, recorded: dict[str, Any], fields: dict[str, str], event: str) -> Iterator[Finding]:
    for column, key in fields.items():
        if key in recorded and not _same(getattr(row, column), recorded[key]):
            shown = fmt(getattr(row, column)) if isinstance(getattr(row, column), Decimal) else getattr(row, column)
            yield Finding(where, f"{column} is {shown} but its {event} event says {recorded[key]}")


POSITION_FIELDS = {"symbol": "symbol", "opening_qty": "qty", "opening_cash": "cash", "opening_avg_cost": "avg_cost"}
TRADE_FIELDS = {"order_id": "order_id", "position_id": "position_id", "side": "side", "qty": "qty", "price": "price",
                "commission": "commission", "executed_at": "executed_at"}


def positions_against_events(session: Session, windows: list[tuple[int, int]]) -> Iterator[Finding]:
    """Each position's opening values are those its position_created event recorded."""
    e = Event.__table__.c  # type: ignore[attr-defined]
    created = {row.position_id: _data(row) for row in stream(session, select(e.position_id, e.data).where(e.type == "position_created"))}
    for pos in stream(session, select(Position.__table__).order_by(Position.id)):  # type: ignore[arg-type, attr-defined]
        where = f"position {pos.id} ({pos.symbol})"
        if pos.id not in created:
            if not stamps.written_unaudited(pos.id, windows):
                yield Finding(where, "has no position_created event in the audit trail")
            continue
        yield from _differences(where, pos, created[pos.id], POSITION_FIELDS, "position_created")


def trades_against_events(session: Session, windows: list[tuple[int, int]]) -> Iterator[Finding]:
    """Each trade has its order_filled event, recording the same fill: a merge of two id-sorted streams."""
    t, e = Trade.__table__.c, Event.__table__.c  # type: ignore[attr-defined]
    recorded = stream(session, select(e.trade_id, e.data).where(e.type == "order_filled", e.trade_id.is_not(None))
                      .order_by(ordered(session, e.trade_id)))
    current = next(recorded, None)
    for row in stream(session, select(Trade.__table__).order_by(ordered(session, t.id))):  # type: ignore[arg-type]
        while current is not None and current.trade_id < row.id:
            current = next(recorded, None)
        if current is None or current.trade_id != row.id:
            if not stamps.written_unaudited(row.id, windows):
                yield Finding(f"trade {row.id}", "has no order_filled event in the audit trail")
            continue
        trade = _data(current).get("trade")
        yield from _differences(f"trade {row.id}", row, trade if isinstance(trade, dict) else {}, TRADE_FIELDS, "order_filled")


FLOW_EVENTS = {"cash_deposited": ("deposit", "amount", 1), "cash_withdrawn": ("withdrawal", "amount", -1),
               "dividend_paid": ("dividend", "net", 1)}


def cash_flows_against_events(session: Session, windows: list[tuple[int, int]]) -> Iterator[Finding]:
    """Each deposit, withdrawal and dividend payment moved the amount its event recorded."""
    e = Event.__table__.c  # type: ignore[attr-defined]
    events: dict[str, tuple[str, Any]] = {}
    for row in stream(session, select(e.type, e.data).where(e.type.in_(tuple(FLOW_EVENTS)))):
        data = _data(row)
        kind, key, sign = FLOW_EVENTS[row.type]
        if isinstance(data.get("cash_flow_id"), str):
            try:
                events[data["cash_flow_id"]] = (kind, sign * Decimal(str(data.get(key))))
            except InvalidOperation:
                events[data["cash_flow_id"]] = (kind, None)
    for flow in stream(session, select(CashFlow.__table__).order_by(CashFlow.id)):  # type: ignore[arg-type, attr-defined]
        where = f"cash flow {flow.id} ({flow.kind})"
        if flow.id not in events:
            if not stamps.written_unaudited(flow.id, windows):
                yield Finding(where, "has no event in the audit trail")
        elif events[flow.id] != (flow.kind, flow.amount):
            kind, amount = events[flow.id]
            yield Finding(where, f"moved {fmt(flow.amount)} but its event records a {kind} of {fmt(amount) if amount is not None else '?'}")


CHECKS: tuple[Check, ...] = (positions_against_events, trades_against_events, cash_flows_against_events)


def event_problems(session: Session) -> list[Finding]:
    """Every disagreement between the rows and the events that recorded them."""
    windows = stamps.unaudited_windows(session.connection())
    return [finding for check in CHECKS for finding in check(session, windows)]
