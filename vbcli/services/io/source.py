"""What every export reads: the filters, the sink, and rows streamed in batches so memory
stays flat however large the ledger (a server-side cursor on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlmodel import Session

from vbcli import faults
from vbcli.services.shared import refs
from vbcli.store.tables import AnchorReset, CashFlow, Dividend, Event, IdempotencyKey, Order, Portfolio, Position, Price, Split, Trade

CHUNK = 1000
EXPORT_VERSION = 1
# `export all`: every table in foreign-key order, with the column that orders its rows (replay checkpoints are
# derived, not exported: an imported ledger replays from its facts).
ALL_TABLES: tuple[tuple[str, Any, str], ...] = (
    ("portfolios", Portfolio, "id"), ("positions", Position, "id"), ("orders", Order, "id"), ("trades", Trade, "id"),
    ("cash_flows", CashFlow, "id"), ("dividends", Dividend, "id"), ("splits", Split, "id"), ("anchor_resets", AnchorReset, "id"),
    ("events", Event, "seq"),
    ("idempotency_keys", IdempotencyKey, "key"), ("prices", Price, "symbol"),
)


@dataclass(frozen=True)
class Filters:
    """The list filters of `vb export`; times are inclusive."""

    ref: str | None = None
    portfolio: str | None = None
    side: str | None = None
    type: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class Sink:
    """Where an export goes: a text stream and a hook called after each chunk of rows."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.chunks = 0

    def chunk_done(self) -> None:
        self.stream.flush()
        self.chunks += 1
        if self.chunks == 1:
            faults.point("mid_export")


def stream(session: Session, stmt: Any) -> Iterator[Row[Any]]:
    """Rows of `stmt` in batches (a server-side cursor on PostgreSQL): memory stays flat."""
    yield from session.connection().execute(stmt.execution_options(yield_per=CHUNK))


def ordered(session: Session, column: Any) -> Any:
    # PostgreSQL's locale collation would order ids and keys differently from SQLite.
    return column.collate("C") if session.info.get("vb_dialect") == "postgresql" and column.type.python_type is str else column


def scope(session: Session, stmt: Any, position_col: Any, filters: Filters) -> Any:
    if filters.ref:
        stmt = stmt.where(position_col == refs.position(session, filters.ref).id)
    if filters.portfolio:
        owner = refs.portfolio_by_name(session, filters.portfolio)
        stmt = stmt.where(position_col.in_(select(Position.id).where(Position.portfolio_id == owner.id)))
    return stmt


def window(stmt: Any, column: Any, filters: Filters, *, dates: bool = False) -> Any:
    since, until = filters.since, filters.until
    if since is not None:
        stmt = stmt.where(column >= (since.date() if dates else since))
    if until is not None:
        stmt = stmt.where(column <= (until.date() if dates else until))
    return stmt


def trades_query(session: Session, filters: Filters, *columns: Any) -> Any:
    """The trades of an export, oldest first: whole rows, or only `columns`."""
    t = Trade.__table__.c  # type: ignore[attr-defined]
    stmt = select(*columns) if columns else select(Trade.__table__)  # type: ignore[arg-type]
    stmt = window(scope(session, stmt, t.position_id, filters), t.executed_at, filters)
    if filters.side:
        stmt = stmt.where(t.side == filters.side)
    return stmt.order_by(t.executed_at, ordered(session, t.id))
