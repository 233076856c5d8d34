"""`vb db check`: storage integrity plus the ledger's invariants, every problem collected as data.

The pure checks (positions against the replay of their facts, orders against their trades,
the audit hash chain) take plain rows and return Problems, so tests call them directly; `check` reads
the ledger in one read transaction, streaming the large tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from vbcli.domain.facts import TimelineError
from vbcli.domain.numbers import ZERO, fmt
from vbcli.domain.rederive import POSITION_FIELDS, diff_figures, position_figures
from vbcli.domain.timeline import Replay
from vbcli.services.ledger.timeline import replay_position
from vbcli.services.shared.audit import event_hash
from vbcli.services.io.source import stream
from vbcli.store.history import History
from vbcli.store.tables import CashFlow, Event, LedgerHead, Order, Position, Trade
from vbcli.services.upkeep.eventcheck import event_problems


@dataclass(frozen=True)
class Problem:
    where: str  # the object: "position pos_… (AAPL)", "event 12", "sqlite"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def position_problems(pos: Any, history: History, replayed: Replay | TimelineError) -> list[Problem]:
    """Every stored figure of the position, its trades and dividends that its timeline does not give (SPEC §8.1)."""
    where = f"position {pos.id} ({pos.symbol})"
    if isinstance(replayed, TimelineError):
        return [Problem(where, f"its facts do not replay: {replayed}")]
    derived = position_figures(replayed.state)
    derived["anchor"] = replayed.state.anchor if replayed.state.anchor > 0 else None
    found = [Problem(where, f"{d.field} is {_show(d.stored)} but its history gives {_show(d.derived)}")
             for d in diff_figures({name: getattr(pos, name) for name in POSITION_FIELDS}, derived)]
    for trade_id, stored in history.trades.items():
        outcome = replayed.fills[trade_id]
        wanted = {"cash_amount": outcome.cash_amount, "realized_pnl": outcome.realized_pnl,
                  "anchor_before": outcome.anchor_before if outcome.anchor_before > 0 else None}
        found += [Problem(f"trade {trade_id}", f"{d.field} is {_show(d.stored)} but its history gives {_show(d.derived)}")
                  for d in diff_figures(stored, wanted)]
    for dividend_id, stored in history.dividends.items():
        got = replayed.dividends.get(dividend_id)
        if got is not None:
            wanted = {"qty": got.entitled_qty, "gross": got.gross, "tax": got.tax, "net": got.net}
            found += [Problem(f"dividend {dividend_id}", f"{d.field} is {_show(d.stored)} but its history gives {_show(d.derived)}")
                      for d in diff_figures(stored, wanted)]
    for name in ("qty", "cash"):
        if getattr(pos, name) < 0:
            found.append(Problem(where, f"{name} is negative ({fmt(getattr(pos, name))})"))
    return found


def _show(value: Decimal | None) -> str:
    return "empty" if value is None else fmt(value)


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


def _positions(session: Session) -> tuple[list[Problem], int, int]:
    """Replay every position from its facts; (problems, positions, fills)."""
    found: list[Problem] = []
    rows = session.execute(select(Position).order_by(Position.id)).scalars().all()
    fills = 0
    for pos in rows:
        try:
            history, replayed = replay_position(session, pos)
        except TimelineError as error:
            history, replayed = History(), error
        fills += len(history.trades)
        found += position_problems(pos, history, replayed)
    known = {pos.id for pos in rows}
    t, c = Trade.__table__.c, CashFlow.__table__.c  # type: ignore[attr-defined]
    owners = {row[0] for row in session.connection().execute(select(t.position_id).distinct())}
    owners |= {row[0] for row in session.connection().execute(select(c.position_id).distinct())}
    found += [Problem(f"position {pid}", "has trades or cash flows but does not exist") for pid in sorted(owners - known)]
    return found, len(rows), fills


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
    found, positions, fills = _positions(session)
    problems += found
    problems += list(_orders(session))
    problems += event_problems(session)  # events against rows: services/upkeep/eventcheck.py
    head = session.get(LedgerHead, 1)
    events = stream(session, select(Event.__table__).order_by(Event.seq))  # type: ignore[arg-type, attr-defined]
    problems += chain_problems(events, head.event_count if head else None, head.last_hash if head else None)
    checked = {"positions": positions, "fills": fills,
               "events": head.event_count if head else 0}
    return {"ok": not problems, "problems": [str(p) for p in problems], "checked": checked}
