"""Bulk writes for `vb import`: rows inserted with one executemany per table and chunk, and
the audit hash chain continued in one pass.

No ORM objects per row. On SQLite the rows go to the driver as tuples already in storage form
(through the same column types as every other write); on PostgreSQL through SQLAlchemy Core.
Everything happens in the caller's transaction, so a later error still rolls it all back.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session

from vbcli.services.shared.audit import chain_hash_of
from vbcli.store.columns import ExactDecimal
from vbcli.store.tables import LedgerHead

MEMO_LIMIT = 50_000
_MISSING = object()


class TableWriter:
    """Insert many rows into one table. Rows are dicts with every column; decimal columns hold
    their fmt() text (what ExactDecimal stores on SQLite, and parses back on PostgreSQL)."""

    def __init__(self, session: Session, table: Table) -> None:
        session.info["vb_bulk"] = True  # PostgreSQL: the store analyses the tables after the commit
        self.table = table
        self.sqlite = session.info.get("vb_dialect", "sqlite") == "sqlite"
        self.names = names = [column.name for column in table.columns]
        if self.sqlite:
            dialect = session.get_bind().dialect
            self.processors = {column.name: column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns}
            self.values = operator.itemgetter(*names)
            self.converters = [(index, convert) for index, column in enumerate(table.columns)
                               if not isinstance(column.type, ExactDecimal) and (convert := _converter(column.type, dialect))]
            self.sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"

    def write(self, session: Session, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self.sqlite:
            session.execute(insert(self.table), rows)
            return
        values, converters = self.values, self.converters
        tuples = []
        for row in rows:
            cells = list(values(row))
            for index, convert in converters:
                cells[index] = convert(cells[index])
            tuples.append(cells)
        session.connection().connection.dbapi_connection.executemany(self.sql, tuples)  # type: ignore[union-attr]

    def stored(self, name: str, value: Any) -> Any:
        """`value` as column `name` holds it in a row for `write_stored` (SQLite: its bind conversion)."""
        process = self.processors[name] if self.sqlite else None
        return value if process is None or value is None else process(value)

    def write_stored(self, session: Session, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows given as tuples in column order: decimal cells as their fmt() text, the
        other cells through `stored` (the fast path of bulk imports: no dict, no conversion per row)."""
        if not rows:
            return
        if self.sqlite:
            session.connection().connection.dbapi_connection.executemany(self.sql, rows)  # type: ignore[union-attr]
        else:
            names = self.names
            session.execute(insert(self.table), [dict(zip(names, row)) for row in rows])


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column type's own bind conversion, remembering what it converted: rows share `now`,
    and a price file's dates recur for every symbol (strftime costs more than the insert)."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    memo: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        found = memo.get(value, _MISSING)
        if found is _MISSING:
            if len(memo) >= MEMO_LIMIT:  # unique times (fills): keep memory flat
                memo.clear()
            found = memo[value] = process(value)
        return found

    return convert


class EventChain:
    """Continues the ledger's hash chain over many events; `finish` advances the ledger head.

    Hashes come from audit.chain_hash_of, as with every single command (audit.event_row).
    """

    def __init__(self, session: Session) -> None:
        self.enabled = bool(session.info.get("vb_events", True))
        self.head = session.get(LedgerHead, 1) if self.enabled else None
        assert self.head is not None or not self.enabled, "ledger_head row missing"
        self.prev = self.head.last_hash if self.head else ""
        self.seq = self.head.event_count if self.head else 0

    def row(self, event_id: str, ts: Any, stamp: str, type: str, position_id: str | None, order_id: str | None,
            trade_id: str | None, message: str, data: str) -> tuple[Any, ...]:
        """The next event as a tuple in column order (`ts` as stored, `stamp` its RFC 3339 text, `data` JSON text)."""
        prev, seq = self.prev, self.seq + 1
        self.prev, self.seq = chain_hash_of(prev, event_id, seq, type, position_id, order_id, trade_id, message, data, stamp), seq
        return (event_id, seq, ts, type, position_id, order_id, trade_id, message, data, prev, self.prev)

    def resume(self) -> None:
        """Continue after events recorded one by one (audit.record_event) since `finish`."""
        if self.head is not None:
            self.prev, self.seq = self.head.last_hash, self.head.event_count

    def finish(self, session: Session) -> None:
        if self.head is not None and self.seq != self.head.event_count:
            self.head.event_count, self.head.last_hash = self.seq, self.prev
            session.add(self.head)
