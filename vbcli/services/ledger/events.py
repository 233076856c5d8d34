"""Reading the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from vbcli.services.shared import refs
from vbcli.services.shared.views import event_view
from vbcli.store.tables import Event


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
        query = query.where(Event.type == type)
    if since:
        query = query.where(Event.ts >= since)
    if until:
        query = query.where(Event.ts <= until)
    query = query.order_by(Event.seq.desc())  # type: ignore[attr-defined]
    if limit:
        query = query.limit(limit)
    return [event_view(row) for row in session.exec(query).all()]
