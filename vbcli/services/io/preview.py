"""What a dry-run import would write, read back inside its own (rolled back) transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from vbcli.services.shared.views import trade_view
from vbcli.store.tables import Trade


def trades_recorded_since(session: Session, since: datetime) -> list[dict[str, Any]]:
    """The trades this transaction recorded (created at or after `since`; writers hold the
    write lock, so no other command's rows are among them), oldest fill first."""
    query = select(Trade).where(Trade.created_at >= since).order_by(Trade.executed_at, Trade.id)  # type: ignore[arg-type]
    return [trade_view(row) for row in session.exec(query)]
