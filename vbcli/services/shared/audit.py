"""Writing the audit trail: events chained by hashes so later edits show (`vb db check`)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from vbcli.domain.ids import new_id
from vbcli.domain.numbers import fmt
from vbcli.domain.timeparse import rfc3339, utcnow
from vbcli.store.tables import Event, LedgerHead


def to_json_value(value: Any) -> Any:
    """Decimals as strings, datetimes as RFC 3339, recursively."""
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_json_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, event: Event) -> str:
    """sha256 over the previous hash and the event's own fields."""
    payload = dumps(
        {
            "prev": prev_hash,
            "id": event.id,
            "seq": event.seq,
            "ts": rfc3339(event.ts),
            "type": event.type,
            "position_id": event.position_id,
            "order_id": event.order_id,
            "trade_id": event.trade_id,
            "message": event.message,
            "data": event.data,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record_event(
    session: Session,
    type: str,
    message: str,
    *,
    position_id: str | None = None,
    order_id: str | None = None,
    trade_id: str | None = None,
    data: dict[str, Any] | None = None,
    ts: datetime | None = None,
) -> Event | None:
    """Append one event to the trail in the caller's transaction (nothing when events are off)."""
    if not session.info.get("vb_events", True):
        return None
    head = session.get(LedgerHead, 1)
    assert head is not None, "ledger_head row missing"
    event = Event(
        id=new_id("event"),
        seq=head.event_count + 1,
        ts=ts or utcnow(),
        type=type,
        position_id=position_id,
        order_id=order_id,
        trade_id=trade_id,
        message=message,
        data=dumps(data or {}),
        prev_hash=head.last_hash,
        hash="",
    )
    event.hash = event_hash(head.last_hash, event)
    head.event_count = event.seq
    head.last_hash = event.hash
    session.add(event)
    session.add(head)
    return event


def chain_rows(session: Session, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Event rows for many events at once (bulk paths such as `vb import`), continuing the hash chain.

    Each spec has type, message and optionally position_id, order_id, trade_id, data, ts. The
    caller inserts the rows in the same transaction; the ledger head is advanced here.
    """
    if not session.info.get("vb_events", True) or not specs:
        return []
    from types import SimpleNamespace

    head = session.get(LedgerHead, 1)
    assert head is not None, "ledger_head row missing"
    rows: list[dict[str, Any]] = []
    prev, seq = head.last_hash, head.event_count
    for spec in specs:
        seq += 1
        row = {"id": new_id("event"), "seq": seq, "ts": spec.get("ts") or utcnow(), "type": spec["type"],
               "position_id": spec.get("position_id"), "order_id": spec.get("order_id"), "trade_id": spec.get("trade_id"),
               "message": spec["message"], "data": dumps(spec.get("data") or {}), "prev_hash": prev}
        row["hash"] = prev = event_hash(prev, SimpleNamespace(**row))  # type: ignore[arg-type]
        rows.append(row)
    head.event_count, head.last_hash = seq, prev
    session.add(head)
    return rows
