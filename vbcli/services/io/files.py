"""Reading an input file (or stdin for `-`) as text, with the name problem messages use."""

from __future__ import annotations

import sys
from pathlib import Path

from vbcli.errors import BadInputData, NotFound, problem

STDIN = "-"


def read_source(path: str, *, encoding: str = "utf-8") -> tuple[str, str]:
    """(display name, text) of the file at `path`, or of stdin for `-`.

    `encoding="utf-8-sig"` also drops a byte-order mark (spreadsheet exports of price files).
    """
    if path == STDIN:
        return "<stdin>", sys.stdin.read()
    try:
        raw = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise NotFound(f"No file {path!r}; give the path of a file, or - for stdin.") from None
    except OSError as exc:
        raise NotFound(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        return path, raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadInputData(f"{path} is not UTF-8 text.", details=[problem(path, 1, f"not UTF-8 ({exc.reason})")]) from None
