"""Reading the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.words import did_you_mean
from vbcli.errors import UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.views import event_view
from vbcli.store.tables import Event

# Every type vb writes (SPEC §2 and §8); a ledger may also hold types of a newer vb.
EVENT_TYPES = (
    "portfolio_created", "portfolio_updated", "portfolio_removed", "position_created", "position_updated",
    "position_closed", "position_rederived", "cash_deposited", "cash_withdrawn", "order_placed", "order_rejected",
    "order_cancelled", "order_filled", "anchor_updated", "trade_voided", "dividend_announced", "ex_dividend_applied",
    "anchor_adjusted_for_dividend", "dividend_paid", "split_applied", "evaluation", "price_recorded",
)


def check_type(session: Session, type: str) -> str:
    """An event type vb writes or the ledger holds; anything else is exit 2 naming the nearest."""
    if type in EVENT_TYPES:
        return type
    held = set(session.exec(select(Event.type).distinct()).all())
    if type in held:
        return type
    valid = sorted(set(EVENT_TYPES) | held)
    raise UsageError(f"--type {type[:40]!r} is not an event type vb writes or this ledger holds{did_you_mean(type, valid)}.")


def list_events(
    session: Session,
    *,
    ref: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Events newest first, filtered; `--since`/`--until` are inclusive."""
    query = select(Event)
    if ref:
        query = query.where(Event.position_id == refs.position(session, ref).id)
    if type:
        query = query.where(Event.type == check_type(session, type))
    if since:
        query = query.where(Event.ts >= since)
    if until:
        query = query.where(Event.ts <= until)
    query = query.order_by(Event.seq.desc())  # type: ignore[attr-defined]
    if limit:
        query = query.limit(limit)
    return [event_view(row) for row in session.exec(query).all()]
