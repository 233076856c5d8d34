"""Every value of an `export all` document checked against its column before anything is
written: type, null, finite decimal, sign, set of values, UTC offset, length, unique keys and
references. Problems are data: `path.to.field: message` (0-based row indexes).

Pure: table metadata in, rows and problems out; `restore.py` reports them as exit 7.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, Date, Integer, String, Table

from vbcli.store.columns import ExactDecimal, UTCDateTime

MAX_PROBLEMS = 50  # a ruined file is reported by its first problems, not by millions of lines
MAX_DIGITS = 40  # the magnitude and precision a ledger value can have, with room to spare

# Values outside these sets cannot have been written by vb.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("positions", "status"): ("open", "closed"),
    ("positions", "below_min"): ("hold", "reject", "clip"),
    ("orders", "side"): ("buy", "sell"),
    ("orders", "status"): ("open", "partially_filled", "filled", "cancelled"),
    ("orders", "source"): ("place", "evaluate", "trade", "import"),
    ("trades", "side"): ("buy", "sell"),
    ("trades", "status"): ("executed", "voided"),
    ("cash_flows", "kind"): ("deposit", "withdrawal", "dividend"),
    ("dividends", "status"): ("announced", "receivable", "paid"),
}
POSITIVE = {("orders", "qty"), ("orders", "limit_price"), ("trades", "qty"), ("trades", "price"), ("dividends", "per_share")}
SIGNED = {("positions", "realized_pnl"), ("trades", "realized_pnl"), ("cash_flows", "amount")}  # others are >= 0


class Problems(list[str]):
    """Problems found so far; full once MAX_PROBLEMS are in."""

    def add(self, where: str, message: str) -> None:
        if len(self) < MAX_PROBLEMS:
            self.append(f"{where}: {message}")

    @property
    def full(self) -> bool:
        return len(self) >= MAX_PROBLEMS


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _decimal(value: Any, table: str, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"must be a decimal string, not {_show(value)}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"must be a decimal number, not {_show(value)}") from None
    if not number.is_finite():
        raise ValueError(f"must be a finite decimal, not {_show(value)}")
    digits = number.as_tuple()
    if len(digits.digits) > MAX_DIGITS or abs(int(digits.exponent)) > MAX_DIGITS:
        raise ValueError(f"{_show(value)} has more digits than a ledger value can")
    if (table, name) in POSITIVE and number <= 0:
        raise ValueError(f"must be greater than zero, not {_show(value)}")
    if (table, name) not in SIGNED and (table, name) not in POSITIVE and number < 0:
        raise ValueError(f"must not be negative, not {_show(value)}")
    return number


def _timestamp(value: Any, _table: str, _name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"must be an RFC 3339 time string, not {_show(value)}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"must be an RFC 3339 time such as 2026-11-26T14:30:00Z, not {_show(value)}") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{_show(value)} has no UTC offset; vb writes times with Z")
    return moment


def _date(value: Any, _table: str, _name: str) -> date:
    if not isinstance(value, str):
        raise ValueError(f"must be a date string such as 2026-11-26, not {_show(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be a date such as 2026-11-26, not {_show(value)}") from None


def _integer(value: Any, _table: str, _name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, not {_show(value)}")
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{_show(value)} is out of range")
    return value


def _boolean(value: Any, _table: str, _name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {_show(value)}")
    return value


def converter(column: Any) -> Callable[[Any, str, str], Any]:
    """The check-and-convert function of a column's type."""
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return _decimal
    if isinstance(kind, UTCDateTime):
        return _timestamp
    if isinstance(kind, Date):
        return _date
    if isinstance(kind, Boolean):
        return _boolean
    if isinstance(kind, Integer):
        return _integer
    length = getattr(kind, "length", None) if isinstance(kind, String) else None

    def text(value: Any, table: str, name: str) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {_show(value)}")
        if length is not None and len(value) > length:
            raise ValueError(f"is {len(value)} characters long; at most {length} fit")
        choices = CHOICES.get((table, name))
        if choices and value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {_show(value)}")
        return value

    return text


def check_rows(name: str, table: Table, rows: Any, problems: Problems) -> list[dict[str, Any]]:
    """The rows of one table converted to Python values; every bad value goes to `problems`."""
    if not isinstance(rows, list):
        problems.add(name, "must be a list of rows")
        return []
    columns = {column.name: (column, converter(column)) for column in table.columns}
    converted = []
    for index, row in enumerate(rows):
        where = f"{name}[{index}]"
        if not isinstance(row, dict):
            problems.add(where, "must be an object")
            continue
        for extra in sorted(set(row) - set(columns))[:3]:
            problems.add(f"{where}.{extra}", "is not a column of this table")
        values: dict[str, Any] = {}
        for column_name, (column, convert) in columns.items():
            if column_name not in row:
                problems.add(f"{where}.{column_name}", "is missing")
            elif row[column_name] is None:
                if not column.nullable:
                    problems.add(f"{where}.{column_name}", "must not be null")
                values[column_name] = None
            else:
                try:
                    values[column_name] = convert(row[column_name], name, column_name)
                except ValueError as exc:
                    problems.add(f"{where}.{column_name}", str(exc))
        converted.append(values)
        if problems.full:
            break
    return converted


def check_keys(tables: dict[str, list[dict[str, Any]]], metadata: dict[str, Table], problems: Problems) -> None:
    """Primary and unique keys are unique; every foreign key names a row of the document."""
    for name, rows in tables.items():
        table = metadata[name]
        unique_sets = [[c.name for c in table.primary_key.columns]]
        unique_sets += [[c.name] for c in table.columns if c.unique]
        for columns in unique_sets:
            seen: set[tuple[Any, ...]] = set()
            for index, row in enumerate(rows):
                value = tuple(row.get(c) for c in columns)
                if value in seen:
                    problems.add(f"{name}[{index}].{columns[0]}", f"{_show(value[0])} appears twice")
                seen.add(value)
    known = {name: {row.get("id") for row in rows} for name, rows in tables.items()}
    by_table = {table.name: name for name, table in metadata.items()}
    for name, rows in tables.items():
        for fk in metadata[name].foreign_keys:
            target = by_table.get(fk.column.table.name)
            if target is None:
                continue
            column = fk.parent.name
            for index, row in enumerate(rows):
                value = row.get(column)
                if value is not None and value not in known[target]:
                    problems.add(f"{name}[{index}].{column}", f"refers to {_show(value)}, which is not in {target}")
