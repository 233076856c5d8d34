"""Records of an import file: (line, {column: text}) from csv, json or ndjson, with the line
numbers that problem messages name."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from vbcli.errors import BadInputData, problem

_NEUTRALISED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[1:] if text.startswith(_NEUTRALISED) else text  # undo the CSV formula guard


def records(text: str, format: str, source: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with their line numbers; a malformed document raises BadInputData."""
    if format == "csv":
        yield from _csv_records(text)
    elif format == "ndjson":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield number, _object(line, 0, number, source)[0]
    else:
        yield from _json_array(text, source)


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """csv.DictReader's rows and line numbers (blank rows skipped, short rows padded), made cheaper."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    keys = [name.strip().lower() for name in header]
    width = len(keys)
    for row in reader:
        line = reader.line_num  # DictReader reports the line where the row's read began
        while row == []:
            row = next(reader, None)  # type: ignore[arg-type]
            if row is None:
                return
        cells = {key: _text(value).strip() for key, value in zip(keys, row)}
        for key in keys[len(row):width]:
            cells[key] = ""
        yield line, cells


def _object(text: str, pos: int, line: int, source: str) -> tuple[dict[str, str], int]:
    decoder = json.JSONDecoder(parse_float=str, parse_int=str)
    try:
        value, end = decoder.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise BadInputData(f"{source} is not valid JSON.", details=[problem(source, line, exc.msg)]) from None
    if not isinstance(value, dict):
        raise BadInputData(f"{source} holds something other than objects.", details=[problem(source, line, "expected an object")])
    return {str(k).strip().lower(): _text(v).strip() for k, v in value.items()}, end


def _json_array(text: str, source: str) -> Iterator[tuple[int, dict[str, str]]]:
    pos, line, counted = 0, 1, 0

    def skip(pos: int, chars: str) -> int:
        while pos < len(text) and text[pos] in chars:
            pos += 1
        return pos

    pos = skip(pos, " \t\r\n")
    if not text.startswith("[", pos):
        raise BadInputData(f"{source} is not a JSON array.", details=[problem(source, 1, "expected [ at the start")])
    pos = skip(pos + 1, " \t\r\n")
    while pos < len(text) and text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        row, pos = _object(text, pos, line, source)
        yield line, row
        pos = skip(pos, " \t\r\n,")
