"""Exports (SPEC §5): the dispatcher from kind and format to the writer, and the row makers.

Rows are read with `yield_per` (a server-side cursor on PostgreSQL), so memory stays flat
however large the ledger. Row order is oldest first (events by seq), which suits files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from vbcli import render as out
from vbcli.services.io.destination import destination  # noqa: F401  (the CLI's one import for exports)
from vbcli.services.io.source import ALL_TABLES, CHUNK, EXPORT_VERSION, Filters, Sink, ordered, scope, stream, trades_query, window
from vbcli.services.shared.views import TRADE_FIELDS, dividend_view, event_view, order_view, position_view, trade_view
from vbcli.store.tables import SCHEMA_REVISION, Dividend, Event, LedgerHead, Order, Portfolio, Position, Trade

KINDS = ("trades", "orders", "events", "positions", "dividends", "all")
FORMATS = ("csv", "json", "ndjson", "ledger", "beancount")


def trade_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    for row in stream(session, trades_query(session, filters)):
        yield trade_view(row)  # type: ignore[arg-type]


def order_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    o = Order.__table__.c  # type: ignore[attr-defined]
    stmt = select(Order.__table__, Position.symbol).join(Position.__table__, Position.id == o.position_id)  # type: ignore[arg-type, attr-defined]
    stmt = window(scope(session, stmt, o.position_id, filters), o.created_at, filters)
    if filters.side:
        stmt = stmt.where(o.side == filters.side)
    if filters.status:
        stmt = stmt.where(o.status == filters.status)
    for row in stream(session, stmt.order_by(o.created_at, ordered(session, o.id))):
        yield order_view(row, row.symbol)  # type: ignore[arg-type]


def event_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    e = Event.__table__.c  # type: ignore[attr-defined]
    stmt = window(scope(session, select(Event.__table__), e.position_id, filters), e.ts, filters)  # type: ignore[arg-type]
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
    stmt = window(scope(session, stmt, d.position_id, filters), d.ex_date, filters, dates=True)
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
        from sqlalchemy import literal_column

        from vbcli.services.io.fastcsv import LINE_SQL, write_trades_csv

        stmt = trades_query(session, filters, literal_column(LINE_SQL), Trade.__table__.c.id)  # type: ignore[attr-defined]
        write_trades_csv(session, stmt, sink)
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
    ledger_head = {"event_count": head.event_count if head else 0, "last_hash": head.last_hash if head else ""}
    out.export_document(sink.stream, [("vb_export", EXPORT_VERSION), ("schema_revision", SCHEMA_REVISION), ("ledger_head", ledger_head)],
                        ((name, _stored_rows(session, model.__table__, order_column, sink)) for name, model, order_column in ALL_TABLES))


def _stored_rows(session: Session, table: Table, order_column: str, sink: Sink) -> Iterator[dict[str, Any]]:
    ties = [c for c in table.primary_key.columns if c.name != order_column]  # prices: by symbol, then time
    rows = stream(session, select(table).order_by(ordered(session, table.c[order_column]), *ties))
    for count, row in enumerate(rows, 1):
        yield {column: raw_value(value) for column, value in row._mapping.items()}
        if count % CHUNK == 0:
            sink.chunk_done()
