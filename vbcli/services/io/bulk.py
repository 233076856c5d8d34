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

from vbcli.domain.ids import new_ids
from vbcli.domain.timeparse import rfc3339
from vbcli.services.shared.audit import dumps, event_row
from vbcli.store.columns import ExactDecimal
from vbcli.store.tables import LedgerHead

class TableWriter:
    """Insert many rows into one table. Rows are dicts with every column; decimal columns hold
    their fmt() text (what ExactDecimal stores on SQLite, and parses back on PostgreSQL)."""

    def __init__(self, session: Session, table: Table) -> None:
        session.info["vb_bulk"] = True  # PostgreSQL: the store analyses the tables after the commit
        self.table = table
        self.sqlite = session.info.get("vb_dialect", "sqlite") == "sqlite"
        if self.sqlite:
            dialect = session.get_bind().dialect
            names = [column.name for column in table.columns]
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


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column type's own bind conversion, remembering the last value (rows share `now`)."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return convert


class EventChain:
    """Continues the ledger's hash chain over many events; `finish` advances the ledger head.

    Rows come from audit.event_row and audit.dumps, as with every single command.
    """

    def __init__(self, session: Session) -> None:
        self.enabled = bool(session.info.get("vb_events", True))
        self.head = session.get(LedgerHead, 1) if self.enabled else None
        assert self.head is not None or not self.enabled, "ledger_head row missing"
        self.prev = self.head.last_hash if self.head else ""
        self.seq = self.head.event_count if self.head else 0

    def rows(self, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Event rows for specs of type, message, ts and optionally position_id, order_id, trade_id, data."""
        if not self.enabled or not specs:
            return []
        rows: list[dict[str, Any]] = []
        prev, seq, stamps = self.prev, self.seq, {}
        for event_id, spec in zip(new_ids("event", len(specs)), specs):
            seq += 1
            ts = spec["ts"]
            stamp = stamps.get(ts) or stamps.setdefault(ts, rfc3339(ts))
            row = event_row(event_id, seq, prev, spec, data=dumps(spec.get("data") or {}), stamp=stamp)
            prev = row["hash"]
            rows.append(row)
        self.prev, self.seq = prev, seq
        return rows

    def finish(self, session: Session) -> None:
        if self.head is not None and self.seq != self.head.event_count:
            self.head.event_count, self.head.last_hash = self.seq, self.prev
            session.add(self.head)
