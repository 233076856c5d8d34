"""Every output format in one place: table, plain, csv, json, ndjson (SPEC §5).

Rows are dicts whose values may be Decimal, datetime, date, bool, None, str, int or nested
dicts. Rich is imported only when a table is drawn.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any, TextIO

from vbcli.domain.numbers import fmt
from vbcli.domain.timeparse import rfc3339

FORMATS = ("table", "plain", "csv", "json", "ndjson")
FLATTENED = ("order_policy", "guardrails")  # nested groups shown as their own columns
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")

Row = dict[str, Any]


def default_format(stream: TextIO | None = None) -> str:
    """VB_FORMAT, else table on a terminal and plain when piped."""
    chosen = os.environ.get("VB_FORMAT", "").strip().lower()
    if chosen in FORMATS:
        return chosen
    stream = stream or sys.stdout
    return "table" if stream.isatty() else "plain"


def json_value(value: Any) -> Any:
    """JSON-ready value: decimals as strings, times as RFC 3339 UTC."""
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def flatten(row: Row) -> Row:
    """Nested policy groups become columns; other nested values stay whole (shown as JSON)."""
    flat: Row = {}
    for key, value in row.items():
        if key in FLATTENED and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(json_value(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if isinstance(value, (Decimal, datetime, date)):
        return str(json_value(value))
    return str(value)


def visible(text: str) -> str:
    """Make control characters visible (\\n, \\t, \\x1b) so nothing steers the terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def csv_cell(value: Any) -> str:
    text = cell_text(value)
    # A replayed result (--key) holds decimals as strings: "-3.5" is a number, not a formula.
    if isinstance(value, str) and text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text  # neutralised: a spreadsheet shows it as text, never runs it
    return text


def render(data: Row | Iterable[Row], format: str, *, out: TextIO | None = None, columns: list[str] | None = None,
           table_columns: list[str] | None = None, title: str | None = None, empty_columns: list[str] | None = None) -> None:
    """Write one object or a sequence of rows in `format`.

    `empty_columns` is the header that plain and csv print when there are no rows, so a script
    always sees the header.
    """
    out = out or sys.stdout
    if isinstance(data, dict):
        _render_one(data, format, out, columns)
    else:
        _render_many(iter(data), format, out, columns, table_columns, title, empty_columns)


def _render_one(row: Row, format: str, out: TextIO, columns: list[str] | None) -> None:
    if format == "json":
        out.write(json.dumps(json_value(row), indent=2, ensure_ascii=False) + "\n")
    elif format == "ndjson":
        out.write(json.dumps(json_value(row), ensure_ascii=False, separators=(",", ":")) + "\n")
    elif format == "table":
        _record_table(flatten(row), out)
    else:
        _render_many(iter([row]), format, out, columns, None, None, None)


def _render_many(rows: Iterator[Row], format: str, out: TextIO, columns: list[str] | None,
                 table_columns: list[str] | None, title: str | None, empty_columns: list[str] | None = None) -> None:
    if format == "json":
        out.write("[")
        for index, row in enumerate(rows):
            out.write(("," if index else "") + "\n  " + json.dumps(json_value(row), ensure_ascii=False))
        out.write("\n]\n")
        return
    if format == "ndjson":
        for row in rows:
            out.write(json.dumps(json_value(row), ensure_ascii=False, separators=(",", ":")) + "\n")
        return
    flat_rows = (flatten(row) for row in rows)
    first = next(flat_rows, None)
    header = columns or (list(first) if first is not None else list(empty_columns or []))
    all_rows = chain([first], flat_rows) if first is not None else iter(())
    if format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        if header:
            writer.writerow(header)
        for row in all_rows:
            writer.writerow([csv_cell(row.get(name)) for name in header])
    elif format == "table":
        _list_table(list(all_rows), table_columns or header, out, title)
    else:
        if header:
            out.write("\t".join(header) + "\n")
        for row in all_rows:
            out.write("\t".join(visible(cell_text(row.get(name))) for name in header) + "\n")


def _console(out: TextIO):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(file=out, highlight=False, soft_wrap=False)


def _list_table(rows: list[Row], columns: list[str], out: TextIO, title: str | None) -> None:
    from rich.table import Table
    from rich.text import Text

    if not rows:
        out.write(f"No {title or 'rows'}.\n")
        return
    table = Table(title=title, show_lines=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text(visible(cell_text(row.get(name)))) for name in columns))
    _console(out).print(table)


def _record_table(row: Row, out: TextIO) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in row.items():
        table.add_row(Text(key), Text(visible(cell_text(value))))
    _console(out).print(table)


def warning(message: str) -> None:
    """A warning on stderr (the command goes on)."""
    print(f"vb: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    """One `vb:` line on stderr: what happened besides the result (dry run, replay, a path)."""
    print(f"vb: {message}", file=sys.stderr)
