"""Rows from the driver's cursor, for the readers of 100 000s of rows (the report's history).

SQLAlchemy's result processing calls ExactDecimal and UTCDateTime once per cell, which costs
more than the query. These readers run the statement through SQLAlchemy (so its parameters
are bound by the column types), fetch plain tuples from the cursor, and convert only the
cells they use with the converters below: on SQLite the stored text (what ExactDecimal and
UTCDateTime write), on PostgreSQL what psycopg already made (Decimal, aware datetime).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Dialect
from sqlmodel import Session

CHUNK = 5000

Convert = Callable[[Any], Any]


def driver_rows(session: Session, statement: Any, chunk: int = CHUNK) -> Iterator[tuple[Any, ...]]:
    """The rows of `statement` as the driver returns them, fetched `chunk` at a time."""
    result = session.connection().execute(statement)
    try:
        while rows := result.cursor.fetchmany(chunk):
            yield from rows
    finally:
        result.close()


def _decimal_from_text(value: Any) -> Decimal:
    return Decimal(value if value.__class__ is str else str(value))


def _identity(value: Any) -> Any:
    return value


def decimals(dialect: Dialect) -> Convert:
    """A converter of a non-null ExactDecimal cell to Decimal."""
    return _identity if dialect.name == "postgresql" else _decimal_from_text


def times(dialect: Dialect) -> Convert:
    """A converter of a non-null UTCDateTime cell to an aware UTC datetime."""
    if dialect.name == "postgresql":
        return lambda value: value.astimezone(timezone.utc)
    return datetime.fromisoformat  # SQLite keeps 2023-01-02T00:00:00.000000Z; 3.11 reads the Z as UTC


class Memo(dict[Any, Any]):
    """Cell → value, each distinct cell converted once: `memo[cell]`.

    For cells that recur (quantities, commissions, the times of daily closes shared by many
    symbols); Decimals and datetimes are immutable, so one object can stand for all of them.
    """

    def __init__(self, convert: Convert) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, cell: Any) -> Any:
        value = self[cell] = self.convert(cell)
        return value
