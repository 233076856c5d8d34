"""The bottom of every input file `vb` reads: bytes to numbered lines of text.

A file (or stdin for `-`) is read as a stream, one physical line at a time, split on `\\n`
only (never at U+2028 or a lone CR inside a value), so memory stays flat however long the
file. Each line is checked before anything reads it: UTF-8 (a byte-order mark on the first
line is dropped), no NUL byte (a binary file, or UTF-16), at most `max_line` bytes (a line
longer than that is refused with its number before it is read whole). Every refusal is
exit 7 as `FILE:LINE: message`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vbcli.errors import BadInputData, NotFound, problem

STDIN = "-"
STDIN_NAME = "<stdin>"
MAX_LINE = 1 << 20  # 1 MiB: far above any real row, far below the memory of the machine
BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def display_name(path: str) -> str:
    """The name problem messages use for `path`."""
    return STDIN_NAME if path == STDIN else path


def open_binary(path: str) -> BinaryIO:
    """The byte stream of a file, or of stdin for `-` (exit 3 when there is no such file)."""
    if path == STDIN:
        return sys.stdin.buffer
    try:
        if Path(path).is_dir():
            raise IsADirectoryError(path)
        return open(path, "rb")  # noqa: SIM115 - the caller closes it (see reader.open_input)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise NotFound(f"No file {path!r}; give the path of a file, or - for stdin.") from None
    except OSError as exc:
        raise NotFound(f"Cannot read {path}: {exc.strerror or exc}.") from None


def raw_lines(stream: BinaryIO, source: str, *, max_line: int = MAX_LINE) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes with the line end) of `stream`; a line over `max_line` bytes is refused."""
    number = 0
    while True:
        raw = stream.readline(max_line + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line and not raw.endswith(b"\n"):
            _refuse(source, number, f"the line is longer than {_size(max_line)}; vb reads rows of text, "
                                    "not one giant line (is this the right file?)")
        yield number, raw


def text_lines(stream: BinaryIO, source: str, *, max_line: int = MAX_LINE) -> Iterator[tuple[int, str]]:
    """(line number, text with its line end) of every line of `stream`, checked as above."""
    for number, raw in raw_lines(stream, source, max_line=max_line):
        yield number, decode_line(_first_line(raw, source) if number == 1 else raw, source, number)


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"


def _first_line(raw: bytes, source: str) -> bytes:
    if raw.startswith(_UTF16_BOMS):
        _refuse(source, 1, "the file is UTF-16 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8)")
    return raw[len(BOM):] if raw.startswith(BOM) else raw


def decode_line(raw: bytes, source: str, number: int) -> str:
    """One line as text; a NUL byte or invalid UTF-8 is refused naming the line and column."""
    nul = raw.find(b"\x00")
    if nul >= 0:
        _refuse(source, number, f"binary data (a NUL byte at column {nul + 1}); vb reads UTF-8 text files")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[:exc.start].decode("utf-8", errors="replace")) + 1
        _refuse(source, number, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {column}); save the file as UTF-8")
    raise AssertionError("unreachable")  # pragma: no cover


def _refuse(source: str, number: int, message: str) -> None:
    raise BadInputData(f"{source} cannot be read; nothing was done.", details=[problem(source, number, message)])
