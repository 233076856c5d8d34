"""Every output format in one place: table, plain, csv, json, ndjson (SPEC §5).

Rows are dicts whose values may be Decimal, datetime, date, bool, None, str, int or nested
dicts. Machine formats keep full ids and exact values; `table` is for people (render/terminal.py).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any, TextIO

from vbcli.domain.jsonvalue import json_value
from vbcli.domain.numbers import fmt
from vbcli.render.cells import cell_text, visible

FORMATS = ("table", "plain", "csv", "json", "ndjson")
FLATTENED = ("order_policy", "guardrails")  # nested groups shown as their own columns
REFERENCED = ("order", "trade")  # nested objects shown by their id (`order_id`), so a cell holds a scalar
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")  # and the guard itself, so the reader can undo it
_CSV_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tab and newline are data in a quoted cell
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")

Row = dict[str, Any]


def default_format(stream: TextIO | None = None) -> str:
    """VB_FORMAT, else table on a terminal and plain when piped."""
    chosen = os.environ.get("VB_FORMAT", "").strip().lower()
    if chosen in FORMATS:
        return chosen
    stream = stream or sys.stdout
    return "table" if stream.isatty() else "plain"


def flatten(row: Row) -> Row:
    """Nested policy groups become columns, a nested order or trade its id; other nested values stay JSON."""
    flat: Row = {}
    for key, value in row.items():
        if key in FLATTENED and isinstance(value, dict):
            flat.update(value)
        elif key in REFERENCED and (isinstance(value, dict) or value is None):
            flat[f"{key}_id"] = value.get("id") if value else None
        else:
            flat[key] = value
    return flat


def csv_cell(value: Any) -> str:
    """A CSV cell: text starting with = + - @ tab CR or ' gets one leading ' (the reader,
    services/io/reader.py, removes exactly one), so a spreadsheet never runs it and an
    import gives back the same text; other control characters are written escaped."""
    text = _CSV_CONTROL.sub(lambda m: repr(m.group())[1:-1], cell_text(value))
    # A replayed result (--key) holds decimals as strings: "-3.5" is a number, not a formula.
    if isinstance(value, str) and text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def render(data: Row | Iterable[Row], format: str, *, out: TextIO | None = None, columns: list[str] | None = None,
           table_columns: list[str] | None = None, title: str | None = None, empty_columns: list[str] | None = None,
           context: dict[str, Any] | None = None) -> None:
    """Write one object or a sequence of rows in `format`.

    `empty_columns` is the header that plain and csv print when there are no rows, so a script
    always sees the header. A table is drawn by the design named `title` (render/designs.py);
    `context` (services.shared.labels) gives it portfolios, currencies and the ids to keep apart.
    """
    out = out or sys.stdout
    if isinstance(data, dict):
        _render_one(data, format, out, columns, context)
    else:
        _render_many(iter(data), format, out, columns, table_columns, title, empty_columns, context)


def _render_one(row: Row, format: str, out: TextIO, columns: list[str] | None, context: dict[str, Any] | None) -> None:
    if format == "json":
        out.write(json.dumps(json_value(row), indent=2, ensure_ascii=False) + "\n")
    elif format == "ndjson":
        out.write(json.dumps(json_value(row), ensure_ascii=False, separators=(",", ":")) + "\n")
    elif format == "table":
        from vbcli.render.terminal import record_table

        record_table(row, out, context)
    else:
        _render_many(iter([row]), format, out, columns, None, None, None)


def _render_many(rows: Iterator[Row], format: str, out: TextIO, columns: list[str] | None,
                 table_columns: list[str] | None, title: str | None, empty_columns: list[str] | None = None,
                 context: dict[str, Any] | None = None) -> None:
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
        from vbcli.render.terminal import list_table

        list_table(list(all_rows), table_columns or header, out, title, context)
    else:
        if header:
            out.write("\t".join(header) + "\n")
        for row in all_rows:
            out.write("\t".join(visible(cell_text(row.get(name))) for name in header) + "\n")


def warning(message: str) -> None:
    """A warning on stderr (the command goes on)."""
    print(f"vb: warning: {message}", file=sys.stderr)


def error(message: str, details: Iterable[str] = ()) -> None:
    """An error on stderr: its problem lines, then one `vb:` sentence, control characters visible."""
    for detail in details:
        print(visible(detail), file=sys.stderr)
    print(f"vb: {visible(message)}", file=sys.stderr)


@contextmanager
def progress(label: str, total: int, *, wanted: bool) -> Iterator[Callable[[int], None] | None]:
    """A transient Rich progress bar on stderr when `wanted` and stderr is a terminal.

    Yields `advance(n)` (n more of `total` done), or None when no bar is shown.
    """
    if not wanted or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.advance(task, done)


def to_stderr(text: str) -> None:
    """Text for the user on stderr as it is (help shown after a usage error)."""
    print(text, file=sys.stderr)


def note(message: str) -> None:
    """One `vb:` line on stderr: what happened besides the result (dry run, replay, a path)."""
    print(f"vb: {message}", file=sys.stderr)


def line(text: str) -> None:
    """One line of plain output on stdout (a path, a script)."""
    print(text)


def check_lines(problems: list[str], summary: str | None) -> None:
    """`vb db check` as lines: every problem, then the summary when there were none."""
    for problem in problems:
        print(visible(problem))
    if summary is not None:
        print(summary)


def export_document(out: TextIO, head: list[tuple[str, Any]], sections: Iterable[tuple[str, Iterable[Row]]]) -> None:
    """`vb export all`: one JSON document, one stored row per line, written as the rows stream."""
    write = out.write
    write("{\n" + ",\n".join(f'"{name}": {json.dumps(value)}' for name, value in head))
    for name, rows in sections:
        write(',\n"%s": [' % name)
        for count, item in enumerate(rows):
            write(("," if count else "") + "\n" + json.dumps(item, ensure_ascii=False, separators=(",", ":")))
        write("\n]")
    write("\n}\n")


class JournalWriter:
    """Formats transactions and assertions for hledger or beancount."""

    def __init__(self, format: str, out: TextIO) -> None:
        self.beancount = format == "beancount"
        self.write = out.write
        self.day: date | None = None

    def amount(self, value: Decimal, unit: str) -> str:
        if not self.beancount and not unit.isalpha():
            unit = f'"{unit}"'
        return f"{fmt(value)} {unit}"

    def text(self, value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' if self.beancount else value.replace(";", ",")

    def transaction(self, when: datetime, title: str, meta: dict[str, str], postings: list[tuple[str, str, str]]) -> None:
        """postings: (account, amount text, assertion text or "")."""
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if self.beancount:
            self.write(f"\n{when.date().isoformat()} * {self.text(title)}\n  time: \"{stamp}\"\n")
            self.write("".join(f"  {key}: \"{value}\"\n" for key, value in meta.items()))
        else:
            tags = ", ".join(f"{key}: {value}" for key, value in meta.items())
            self.write(f"\n{when.date().isoformat()} {self.text(title)}  ; time: {stamp}, {tags}\n")
        for account, amount, assertion in postings:
            check = f" = {assertion}" if assertion and not self.beancount else ""
            self.write(f"    {account}  {amount}{check}\n")

    def balances(self, books: dict[str, Any], day: date) -> None:
        """beancount: assert every position that moved, at the start of the next day."""
        if not self.beancount:
            return
        when = (day + timedelta(days=1)).isoformat()
        for book in books.values():
            if book.dirty:
                self.write(f"\n{when} balance {book.accounts['shares']}  {self.amount(book.qty, book.unit)}\n"
                           f"{when} balance {book.accounts['cash']}  {self.amount(book.cash, book.currency)}\n")
                book.dirty = False

    def header(self, books: dict[str, Any], global_accounts: tuple[str, ...],
               suffix: Callable[[Any, str], str] = lambda _book, _account: "") -> None:
        """The journal's first lines; beancount also opens every account (`suffix`: its currency and booking method)."""
        self.write("; vb journal: generated by `vb export`; amounts are exact, times UTC.\n")
        if not self.beancount or not books:
            return
        first = min(book.start for book in books.values()).date().isoformat()
        self.write('\noption "title" "vb ledger"\n' + "".join(f"{first} open {account}\n" for account in global_accounts))
        for book in books.values():
            opened = book.start.date().isoformat()
            self.write("".join(f"{opened} open {account}{suffix(book, account)}\n" for account in book.accounts.values()))
