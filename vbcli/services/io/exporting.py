"""Exports (SPEC §5): rows streamed from the ledger, never all loaded, to stdout or a file
replaced atomically.

Rows are read with `yield_per` (a server-side cursor on PostgreSQL), so memory stays flat
however large the ledger. Row order is oldest first (events by seq), which suits files.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Table, select
from sqlalchemy.engine import Row
from sqlmodel import Session

from vbcli import faults
from vbcli import render as out
from vbcli.errors import Conflict, NotFound, UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.views import TRADE_FIELDS, dividend_view, event_view, order_view, position_view, trade_view
from vbcli.store.tables import SCHEMA_REVISION, CashFlow, Dividend, Event, IdempotencyKey, LedgerHead, Order, Portfolio, Position, Trade

KINDS = ("trades", "orders", "events", "positions", "dividends", "all")
FORMATS = ("csv", "json", "ndjson", "ledger", "beancount")
CHUNK = 1000
EXPORT_VERSION = 1
# `export all`: every table in foreign-key order, with the column that orders its rows.
ALL_TABLES: tuple[tuple[str, Any, str], ...] = (
    ("portfolios", Portfolio, "id"), ("positions", Position, "id"), ("orders", Order, "id"), ("trades", Trade, "id"),
    ("cash_flows", CashFlow, "id"), ("dividends", Dividend, "id"), ("events", Event, "seq"),
    ("idempotency_keys", IdempotencyKey, "key"),
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


def _window(stmt: Any, column: Any, filters: Filters, *, dates: bool = False) -> Any:
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
    stmt = _window(scope(session, stmt, t.position_id, filters), t.executed_at, filters)
    if filters.side:
        stmt = stmt.where(t.side == filters.side)
    return stmt.order_by(t.executed_at, ordered(session, t.id))


def trade_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    for row in stream(session, trades_query(session, filters)):
        yield trade_view(row)  # type: ignore[arg-type]


def order_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    o = Order.__table__.c  # type: ignore[attr-defined]
    stmt = select(Order.__table__, Position.symbol).join(Position.__table__, Position.id == o.position_id)  # type: ignore[arg-type, attr-defined]
    stmt = _window(scope(session, stmt, o.position_id, filters), o.created_at, filters)
    if filters.side:
        stmt = stmt.where(o.side == filters.side)
    if filters.status:
        stmt = stmt.where(o.status == filters.status)
    for row in stream(session, stmt.order_by(o.created_at, ordered(session, o.id))):
        yield order_view(row, row.symbol)  # type: ignore[arg-type]


def event_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    e = Event.__table__.c  # type: ignore[attr-defined]
    stmt = _window(scope(session, select(Event.__table__), e.position_id, filters), e.ts, filters)  # type: ignore[arg-type]
    if filters.type:
        stmt = stmt.where(e.type == filters.type)
    for row in stream(session, stmt.order_by(e.seq)):
        yield event_view(row)  # type: ignore[arg-type]


def position_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    p = Position.__table__.c  # type: ignore[attr-defined]
    stmt = select(Position.__table__, Portfolio.name.label("portfolio_name")).join(  # type: ignore[arg-type, attr-defined]
        Portfolio.__table__, Portfolio.id == p.portfolio_id)  # type: ignore[arg-type]
    stmt = scope(session, stmt, p.id, filters)
    if filters.status and filters.status != "all":
        stmt = stmt.where(p.status == filters.status)
    for row in stream(session, stmt.order_by(p.created_at, ordered(session, p.id))):
        yield position_view(row, row.portfolio_name)  # type: ignore[arg-type]


def dividend_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    d = Dividend.__table__.c  # type: ignore[attr-defined]
    stmt = select(Dividend.__table__, Position.symbol).join(Position.__table__, Position.id == d.position_id)  # type: ignore[arg-type, attr-defined]
    stmt = _window(scope(session, stmt, d.position_id, filters), d.ex_date, filters, dates=True)
    if filters.status:
        stmt = stmt.where(d.status == filters.status)
    for row in stream(session, stmt.order_by(d.ex_date, ordered(session, d.id))):
        yield {**dividend_view(row), "symbol": row.symbol}  # type: ignore[arg-type]


ROWS = {"trades": trade_rows, "orders": order_rows, "events": event_rows, "positions": position_rows, "dividends": dividend_rows}


def _chunked(rows: Iterator[dict[str, Any]], sink: Sink) -> Iterator[dict[str, Any]]:
    """Pass rows through, telling the sink after every CHUNK rows that a chunk is written."""
    for count, row in enumerate(rows, 1):
        yield row
        if count % CHUNK == 0:
            sink.chunk_done()


def export(session: Session, *, kind: str, format: str, filters: Filters, sink: Sink) -> None:
    """Write one export of `kind` in `format` to the sink (one read transaction)."""
    if format in ("ledger", "beancount"):
        from vbcli.services.io.journal import write_journal

        write_journal(session, format=format, filters=filters, sink=sink)
    elif kind == "all":
        write_all(session, sink)
    elif kind == "trades" and format == "csv" and session.info.get("vb_dialect") == "sqlite":
        from vbcli.services.io.fastcsv import write_trades_csv

        columns = [Trade.__table__.c[name] for name in TRADE_FIELDS]  # type: ignore[attr-defined]
        write_trades_csv(session, trades_query(session, filters, *columns), sink)
    else:
        columns = list(TRADE_FIELDS) if kind == "trades" else None
        out.render(_chunked(ROWS[kind](session, filters), sink), format, out=sink.stream, columns=columns)
    sink.chunk_done()


def raw_value(value: Any) -> Any:
    """A stored value for `export all`: decimals and times exactly as text, the rest as is."""
    if isinstance(value, (datetime, date, Decimal)):
        return out.json_value(value)
    return value


def write_all(session: Session, sink: Sink) -> None:
    """`export all`: every row of every table as one JSON document, one row per line."""
    head = session.get(LedgerHead, 1)
    write = sink.stream.write
    write('{\n"vb_export": %d,\n"schema_revision": %s,\n' % (EXPORT_VERSION, json.dumps(SCHEMA_REVISION)))
    write('"ledger_head": %s' % json.dumps({"event_count": head.event_count if head else 0, "last_hash": head.last_hash if head else ""}))
    for name, model, order_column in ALL_TABLES:
        table: Table = model.__table__
        write(',\n"%s": [' % name)
        rows = stream(session, select(table).order_by(ordered(session, table.c[order_column])))
        for count, row in enumerate(rows):
            item = {column: raw_value(value) for column, value in row._mapping.items()}
            write(("," if count else "") + "\n" + json.dumps(item, ensure_ascii=False, separators=(",", ":")))
            if (count + 1) % CHUNK == 0:
                sink.chunk_done()
        write("\n]")
    write("\n}\n")


# ---- the destination: stdout, or a file replaced atomically ---------------------------------

def check_target(target: Path, ledger_path: Path | None) -> Path:
    """Refuse a destination that is a symlink, a directory or the ledger itself (exit 4)."""
    if target.is_symlink():
        raise Conflict(f"{target} is a symbolic link; vb does not write through links. Give the real path.")
    if target.is_dir():
        raise Conflict(f"{target} is a directory; give a file name.")
    parent = target.parent
    if not parent.is_dir():
        raise NotFound(f"The directory {parent} does not exist.")
    resolved = parent.resolve() / target.name
    if ledger_path is not None:
        ledger = ledger_path.resolve()
        same = target.exists() and ledger.exists() and os.path.samefile(target, ledger)
        if same or resolved in (ledger, ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")):
            raise Conflict(f"{target} is the ledger itself; choose another file for the export.")
    return resolved


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def destination(out_path: str | None, ledger_path: Path | None) -> Iterator[Sink]:
    """stdout for None or `-`; else a temp file in the target's directory, renamed when complete.

    A reader sees the old file or the whole new one; on any error or interruption the temp
    file is removed and the old file stays as it was.
    """
    if out_path is None or out_path == "-":
        yield Sink(sys.stdout)
        sys.stdout.flush()
        return
    if not out_path.strip():
        raise UsageError("--out needs a file name, or - for stdout.")
    target = check_target(Path(out_path).expanduser().absolute(), ledger_path)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o600
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield Sink(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
