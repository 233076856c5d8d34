"""The one input reader: every file `vb` takes (trades, prices, quotes, bars, `import all`).

`open_table(path, schema)` yields a `Table` whose `rows()` are `(line, {field: text})`:

- csv: UTF-8 with or without a byte-order mark, `\\n` or `\\r\\n` line ends, the delimiter
  found in the header among `,` `;` and tab (a header with more than one is refused), quoted
  fields, and exactly as many fields per row as the header has (surplus empty cells are
  allowed; `AAPL,buy,1,1,000.50` is not). A cell starting with `'` loses that one `'`: the
  CSV writer (render.csv_cell) adds it to every text starting with = + - @ tab CR or `'`,
  so export → import gives back every text byte for byte.
- ndjson: one JSON object per `\\n`-separated line; json: an array of objects. Numbers are
  kept as their text (exact), duplicate keys are refused.

Columns are matched by `columns.locate`. Problems are exit 7 as `FILE:LINE: message`;
bad field counts are collected (up to MAX_SHOWN) and raised together after the last row.
Stdin is copied to a spool (memory up to SPOOL_MEMORY, then a temporary file) and checked
line by line before anything reads it, so a slow pipe never holds a transaction open.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, BinaryIO

from vbcli.errors import BadInputData, problem
from vbcli.services.io.columns import Header, Schema, locate
from vbcli.services.io.lines import MAX_LINE, STDIN, display_name, open_binary, raw_lines, text_lines

FORMATS = ("csv", "json", "ndjson")
DELIMITERS = {",": "','", ";": "';'", "\t": "tab"}
MAX_SHOWN = 50
SPOOL_MEMORY = 16 << 20
_CONTROL = frozenset(chr(c) for c in [*range(0, 9), *range(11, 32), *range(127, 160)])

csv.field_size_limit(MAX_LINE)  # a quoted field left open cannot swallow the rest of the file

Row = dict[str, str]


class Input:
    """An open input: its display name and a seekable byte stream, read again from the start
    by each `table()` (a transaction retried whole reads the same rows)."""

    def __init__(self, source: str, stream: BinaryIO) -> None:
        self.source, self.stream = source, stream

    def table(self, schema: Schema, *, format: str = "csv", mapping: Mapping[str, str] | None = None) -> Table:
        """The input as rows of `schema` (its header checked now); an empty input is exit 7."""
        self.stream.seek(0)
        lines = _non_blank_start(text_lines(self.stream, self.source), self.source, schema.what)
        table = Table(self.source, schema, format, mapping or {}, lines)
        if format == "csv":
            _read_header(table)
        return table

    def count_lines(self) -> int:
        """How many lines the input has (for a progress bar); the stream is left at its start."""
        self.stream.seek(0)
        count = sum(chunk.count(b"\n") for chunk in iter(lambda: self.stream.read(1 << 20), b""))
        self.stream.seek(0)
        return count


@contextmanager
def open_input(path: str, *, max_line: int = MAX_LINE) -> Iterator[Input]:
    """A file, or stdin for `-`; stdin and pipes are first copied to a spool (the line cap
    holds on the way in), so they can be read twice and a slow pipe never holds a transaction."""
    source = display_name(path)
    opened = open_binary(path)
    with opened if path != STDIN else nullcontext(opened) as stream:  # stdin stays open
        if path != STDIN and _seekable(stream):
            yield Input(source, stream)
            return
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
            for _, raw in raw_lines(stream, source, max_line=max_line):
                spool.write(raw)
            yield Input(source, spool)  # type: ignore[arg-type]


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable() and stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def read_text(path: str, *, what: str, max_line: int = 64 * MAX_LINE) -> tuple[str, str]:
    """(display name, whole text) of a document such as an `export all` file; empty → exit 7."""
    with open_input(path, max_line=max_line) as given:
        text = "".join(line for _, line in text_lines(given.stream, given.source, max_line=max_line))
    if not text.strip():
        raise _empty(given.source, what)
    return given.source, text


@dataclass
class Table:
    """An open input file read as rows of `schema`'s fields."""

    source: str
    schema: Schema
    format: str
    mapping: Mapping[str, str]
    lines: Iterator[tuple[int, str]]
    unused: list[str] = field(default_factory=list)
    header: Header | None = None
    _reader: Any = None  # csv: the reader past the header, the line offset, the header's width
    _offset: int = 0
    _width: int = 0

    def rows(self) -> Iterator[tuple[int, Row]]:
        """(line, {field: text}) of each non-blank row; every field of the schema is present."""
        if self.format == "csv":
            return _csv_rows(self)
        if self.format == "ndjson":
            return _object_rows(self, _ndjson_objects(self))
        return _object_rows(self, _json_objects(self))


@contextmanager
def open_table(path: str, schema: Schema, *, format: str = "csv", mapping: Mapping[str, str] | None = None) -> Iterator[Table]:
    """The file at `path` (`-` = stdin) as one Table."""
    with open_input(path) as given:
        yield given.table(schema, format=format, mapping=mapping)


def _non_blank_start(lines: Iterator[tuple[int, str]], source: str, what: str) -> Iterator[tuple[int, str]]:
    for number, text in lines:
        if text.strip():
            return chain([(number, text)], lines)
    raise _empty(source, what)


def _empty(source: str, what: str) -> BadInputData:
    return BadInputData(f"{source} is empty; nothing was done.", details=[problem(source, 1, f"empty input: expected {what}")])


# ---- csv ------------------------------------------------------------------------------------------

def delimiter(text: str, source: str, line: int) -> str:
    """The one of `,` `;` tab that the header line uses outside quotes (`,` when none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    found = [d for d, n in counts.items() if n]
    if len(found) > 1:
        named = " and ".join(DELIMITERS[d] for d in found)
        raise BadInputData(f"{source}: cannot tell which character separates the columns; nothing was done.", details=[problem(
            source, line, f"the header has both {named} outside quotes; separate the columns with one of them and quote names that hold the other")])
    return found[0] if found else ","


def _read_header(table: Table) -> None:
    number, text = next(table.lines)
    sep = delimiter(text, table.source, number)
    reader = csv.reader(chain([text], (line for _, line in table.lines)), delimiter=sep)
    cells = next(reader)
    table.header = locate([c.strip() for c in cells], table.schema, table.mapping, table.source, number)
    table.unused = list(table.header.unused)
    table.lines = iter(())
    table._reader, table._offset, table._width = reader, number - 1, len(cells)


def _csv_rows(table: Table) -> Iterator[tuple[int, Row]]:
    reader, offset, width = table._reader, table._offset, table._width
    assert table.header is not None
    plan = _plan(table.schema, table.header)
    problems: list[str] = []
    while True:
        start = reader.line_num + offset + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise BadInputData(f"{table.source} is not readable as CSV; nothing was done.",
                               details=[problem(table.source, reader.line_num + offset, f"not readable as CSV: {exc}")]) from None
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != width and (len(cells) < width or any(c.strip() for c in cells[width:])):
            if len(problems) < MAX_SHOWN:
                problems.append(problem(table.source, start, _count_message(len(cells), width)))
            continue
        yield start, _row(plan, cells, table.source, start, undo=True)
    if problems:
        raise BadInputData(f"{table.source} has rows with the wrong number of fields; nothing was done.", details=problems)


def _count_message(count: int, width: int) -> str:
    if count > width:
        return f"{count} fields but the header has {width} — an unquoted thousands separator?"
    return f"{count} fields but the header has {width}"


def _plan(schema: Schema, header: Header) -> list[tuple[str, int, bool]]:
    return [(f.name, header.positions.get(f.name, -1), f.exact) for f in schema.fields]


def _row(plan: list[tuple[str, int, bool]], cells: list[Any], source: str, line: int, *, undo: bool) -> Row:
    row: Row = {}
    count = len(cells)
    for name, index, exact in plan:
        text = cells[index] if 0 <= index < count else ""
        if undo and text[:1] == "'":
            text = text[1:]
        row[name] = text if exact else text.strip()
    if not _CONTROL.isdisjoint("".join(row.values())):  # one test per row; the first bad field is named
        name, text = next((name, text) for name, text in row.items() if not _CONTROL.isdisjoint(text))
        bad = next(c for c in text if c in _CONTROL)
        raise BadInputData(f"{source} holds a control character; nothing was done.", details=[problem(
            source, line, f"{name} contains the control character {bad!r}; vb keeps text printable")])
    return row


# ---- json and ndjson ------------------------------------------------------------------------------

def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise ValueError(f"the key {key!r} appears twice in one object")
        value[key] = item
    return value


_DECODER = json.JSONDecoder(parse_float=str, parse_int=str, object_pairs_hook=_pairs)


def _decode(text: str, pos: int, source: str, line: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise BadInputData(f"{source} is not valid JSON; nothing was done.",
                           details=[problem(source, line + text.count("\n", pos, exc.pos), exc.msg)]) from None
    except (ValueError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise BadInputData(f"{source} is not valid JSON; nothing was done.", details=[problem(source, line, message)]) from None


def _ndjson_objects(table: Table) -> Iterator[tuple[int, Any]]:
    for number, text in table.lines:
        if text.strip():
            value, end = _decode(text, len(text) - len(text.lstrip()), table.source, number)
            if text[end:].strip():
                raise BadInputData(f"{table.source} is not NDJSON; nothing was done.",
                                   details=[problem(table.source, number, "more than one JSON value on the line")])
            yield number, value


def _json_objects(table: Table) -> Iterator[tuple[int, Any]]:
    first, head = next(table.lines)
    text = head + "".join(line for _, line in table.lines)
    pos, line, counted = _skip(text, 0, " \t\r\n"), first, 0
    if not text.startswith("[", pos):
        raise BadInputData(f"{table.source} is not a JSON array; nothing was done.",
                           details=[problem(table.source, first, "expected [ at the start")])
    pos = _skip(text, pos + 1, " \t\r\n")
    while pos < len(text) and text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        value, pos = _decode(text, pos, table.source, line)
        yield line, value
        pos = _skip(text, pos, " \t\r\n,")


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _object_rows(table: Table, objects: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Row]]:
    plans: dict[tuple[str, ...], list[tuple[str, int, bool]]] = {}
    for line, value in objects:
        if not isinstance(value, dict):
            raise BadInputData(f"{table.source} holds something other than objects; nothing was done.",
                               details=[problem(table.source, line, "expected an object")])
        keys = tuple(value)
        if keys not in plans:
            header = locate(list(keys), table.schema, table.mapping, table.source, line)
            table.unused.extend(name for name in header.unused if name not in table.unused)
            plans[keys] = _plan(table.schema, header)
        cells = [_scalar(item, table.source, line) for item in value.values()]
        yield line, _row(plans[keys], cells, table.source, line, undo=False)


def _scalar(value: Any, source: str, line: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise BadInputData(f"{source} holds a nested value where text or a number belongs; nothing was done.",
                           details=[problem(source, line, "expected text or a number, not an object or array")])
    return str(value)
