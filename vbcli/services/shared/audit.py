"""Writing the audit trail: events chained by hashes so later edits show (`vb db check`).

`event_row` is the one builder of an event row and `chain_hash` the one hash, used by single
commands (`record_event`), bulk paths (`vb import`, through bulk.EventChain) and `vb db check`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from vbcli.domain.ids import new_id
from vbcli.domain.jsonvalue import json_value
from vbcli.domain.timeparse import rfc3339, utcnow
from vbcli.store.tables import Event, LedgerHead

# json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) of a value that is
# already JSON-ready; `string` is that encoder's own quoting of one string.
encode_sorted = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def dumps(value: Any) -> str:
    """Sorted, compact JSON text of any value (decimals and times converted first)."""
    return encode_sorted(json_value(value))


def chain_hash(prev: str, row: dict[str, Any], stamp: str) -> str:
    """sha256 over the previous hash and the event's own fields (`stamp` is its ts in RFC 3339).

    The payload is the sorted-key compact JSON of {prev, id, seq, ts, type, position_id,
    order_id, trade_id, message, data}, written out directly: bulk imports hash every row.
    """
    return chain_hash_of(prev, row["id"], row["seq"], row["type"], row["position_id"], row["order_id"], row["trade_id"],
                         row["message"], row["data"], stamp)


def chain_hash_of(prev: str, event_id: str, seq: int, type: str, position_id: str | None, order_id: str | None,
                  trade_id: str | None, message: str, data: str, stamp: str) -> str:
    """`chain_hash` of an event given field by field (bulk imports hash every row)."""
    payload = (f'{{"data":{string(data)},"id":{string(event_id)},"message":{string(message)},'
               f'"order_id":{"null" if order_id is None else string(order_id)},'
               f'"position_id":{"null" if position_id is None else string(position_id)},"prev":{string(prev)},'
               f'"seq":{seq},"trade_id":{"null" if trade_id is None else string(trade_id)},"ts":{string(stamp)},"type":{string(type)}}}')
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, event: Any) -> str:
    """The hash of a stored event (an Event or a row with the same attributes)."""
    fields = ("id", "seq", "type", "position_id", "order_id", "trade_id", "message", "data")
    return chain_hash(prev_hash, {name: getattr(event, name) for name in fields}, rfc3339(event.ts))


def event_row(event_id: str, seq: int, prev: str, spec: dict[str, Any], *, data: str, stamp: str | None = None) -> dict[str, Any]:
    """Every column of one event row, hash included, continuing the chain after `prev`.

    `spec` has type, message, ts and optionally position_id, order_id, trade_id; `data` is its
    data as JSON text already.
    """
    ts = spec["ts"]
    row = {"id": event_id, "seq": seq, "ts": ts, "type": spec["type"], "position_id": spec.get("position_id"),
           "order_id": spec.get("order_id"), "trade_id": spec.get("trade_id"), "message": spec["message"],
           "data": data, "prev_hash": prev}
    row["hash"] = chain_hash(prev, row, stamp or rfc3339(ts))
    return row


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
    spec = {"type": type, "message": message, "ts": ts or utcnow(), "position_id": position_id,
            "order_id": order_id, "trade_id": trade_id}
    event = Event(**event_row(new_id("event"), head.event_count + 1, head.last_hash, spec, data=dumps(data or {})))
    head.event_count = event.seq
    head.last_hash = event.hash
    session.add(event)
    session.add(head)
    return event
