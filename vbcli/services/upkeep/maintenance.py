"""Ledger upkeep: where it is, what it holds, upgrading it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from vbcli.config import Location
from vbcli.store.migrate import current_revision
from vbcli.store.tables import Dividend, Event, Order, Portfolio, Position, Trade


def where(location: Location) -> dict[str, Any]:
    return {"path": location.display, "source": location.source, "engine": location.engine}


def info(session: Session, location: Location) -> dict[str, Any]:
    """Where the ledger is and why, its engine, schema revision, row counts and size."""
    counts = {
        name: session.exec(select(func.count()).select_from(model)).one()
        for name, model in (("portfolios", Portfolio), ("positions", Position), ("orders", Order),
                            ("trades", Trade), ("events", Event), ("dividends", Dividend))
    }
    size = None
    if location.path is not None and location.path.exists():
        size = location.path.stat().st_size
        wal = location.path.with_name(location.path.name + "-wal")
        if wal.exists():
            size += wal.stat().st_size
    return {
        **where(location),
        "schema_revision": current_revision(session.connection()),
        **counts,
        "size_bytes": size,
    }
