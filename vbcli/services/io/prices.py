"""Reading price files: `symbol,price` for `vb evaluate --all`, `date,price` bars for `vb simulate`.

Every problem of a file is collected and reported together as `FILE:LINE: message`
(exit 7); nothing is evaluated or simulated from a file with a problem in it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from vbcli.domain.numbers import ZERO, parse_decimal
from vbcli.domain.simulate import Bar
from vbcli.errors import BadInputData, UsageError, problem
from vbcli.services.io.files import read_source
from vbcli.services.shared.refs import normalize_symbol

MAX_SHOWN_PROBLEMS = 50


def _rows(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank CSV row, the header included."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        for cells in reader:
            if cells and any(cell.strip() for cell in cells):
                yield reader.line_num, [cell.strip() for cell in cells]
    except csv.Error as error:  # a NUL byte, an unterminated quote, a giant field
        where = problem(source, reader.line_num, f"not readable as CSV: {error}")
        raise BadInputData(f"{source} is not a readable CSV file.", details=[where]) from None


def _header(rows: Iterator[tuple[int, list[str]]], source: str, what: str) -> tuple[int, dict[str, int]]:
    first = next(rows, None)
    if first is None:
        raise BadInputData(f"{source} is empty; it needs a header row and {what}.",
                           details=[problem(source, 1, f"empty file: expected a header row and {what}")])
    line, cells = first
    columns: dict[str, int] = {}
    for index, name in enumerate(cells):
        columns.setdefault(name.lower(), index)
    return line, columns


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _number(text: str, what: str) -> tuple[Decimal | None, str | None]:
    """A positive decimal, or the problem with it."""
    if not text:
        return None, f"{what} is missing"
    try:
        value = parse_decimal(text, what=what, allow_negative=True)
    except UsageError as error:
        return None, error.message.rstrip(".")
    if value <= 0:
        return None, f"{what} must be greater than zero, not {text[:40]!r}"
    return value, None


def _raise_problems(problems: list[str], source: str) -> None:
    if not problems:
        return
    shown = problems[:MAX_SHOWN_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(problem(source, "*", f"… and {len(problems) - len(shown)} more problems"))
    count = len(problems)
    raise BadInputData(f"{source} has {count} problem{'s' if count != 1 else ''}; nothing was done.", details=shown)


def parse_symbol_prices(text: str, source: str) -> dict[str, Decimal]:
    """`symbol,price` rows (extra columns ignored) → symbol → price."""
    rows = _rows(text, source)
    line, columns = _header(rows, source, "symbol,price rows")
    missing = [name for name in ("symbol", "price") if name not in columns]
    if missing:
        raise BadInputData(f"{source} lacks the {' and '.join(missing)} column.",
                           details=[problem(source, line, f"missing column {name!r}; the header needs symbol,price") for name in missing])
    prices: dict[str, Decimal] = {}
    first_line: dict[str, int] = {}
    problems: list[str] = []
    for line, cells in rows:
        symbol_text, price_text = _cell(cells, columns["symbol"]), _cell(cells, columns["price"])
        try:
            symbol = normalize_symbol(symbol_text) if symbol_text else None
        except UsageError:
            symbol = None
        price, trouble = _number(price_text, "price")
        if not symbol_text:
            problems.append(problem(source, line, "symbol is missing"))
        elif symbol is None:
            problems.append(problem(source, line, f"symbol {symbol_text[:40]!r} is not a valid symbol"))
        elif symbol in first_line:
            problems.append(problem(source, line, f"{symbol} is listed twice (first on line {first_line[symbol]})"))
        if trouble:
            problems.append(problem(source, line, trouble))
        if symbol is not None and price is not None and symbol not in first_line:
            prices[symbol] = price
        if symbol is not None:
            first_line.setdefault(symbol, line)
    _raise_problems(problems, source)
    return prices


def read_symbol_prices(path: str) -> dict[str, Decimal]:
    """The `symbol,price` CSV at `path` (`-` = stdin)."""
    source, text = read_source(path, encoding="utf-8-sig")
    return parse_symbol_prices(text, source)


def parse_bars(text: str, source: str) -> list[Bar]:
    """`date,price` (or `date,close`) rows oldest first, with optional `dividend` and `split` (NEW:OLD) columns."""
    rows = _rows(text, source)
    line, columns = _header(rows, source, "date,price rows")
    price_column = "price" if "price" in columns else "close"
    missing = [name for name in ("date", price_column) if name not in columns]
    if missing:
        raise BadInputData(f"{source} lacks the {' and '.join(missing)} column.",
                           details=[problem(source, line, f"missing column {name!r}; the header needs date,price (or date,close)") for name in missing])
    bars: list[Bar] = []
    problems: list[str] = []
    last: tuple[date, int] | None = None
    for line, cells in rows:
        day, trouble = _date(_cell(cells, columns["date"]))
        price, price_trouble = _number(_cell(cells, columns[price_column]), price_column)
        dividend, dividend_trouble = _dividend(_cell(cells, columns["dividend"]) if "dividend" in columns else "")
        split, split_trouble = _split(_cell(cells, columns["split"]) if "split" in columns else "")
        problems.extend(problem(source, line, t) for t in (trouble, price_trouble, dividend_trouble, split_trouble) if t)
        if day is not None and last is not None and day <= last[0]:
            order = "repeats" if day == last[0] else "comes before"
            problems.append(problem(source, line, f"date {day.isoformat()} {order} the date on line {last[1]}; rows must be oldest first, one per date"))
        if day is not None and (last is None or day > last[0]):
            last = (day, line)
        if day is not None and price is not None and dividend is not None and split_trouble is None:
            bars.append(Bar(day, price, dividend, split))
    if not problems and not bars:
        problems.append(problem(source, line + 1, "no price rows after the header"))
    _raise_problems(problems, source)
    return bars


def read_bars(path: str) -> list[Bar]:
    """The `date,price` CSV at `path` (`-` = stdin)."""
    source, text = read_source(path, encoding="utf-8-sig")
    return parse_bars(text, source)


def _date(text: str) -> tuple[date | None, str | None]:
    if not text:
        return None, "date is missing"
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date.fromisoformat(text), None
    except ValueError:
        pass
    return None, f"date {text[:40]!r} is not a date such as 2026-11-26"


def _dividend(text: str) -> tuple[Decimal | None, str | None]:
    if not text:
        return ZERO, None
    try:
        value = parse_decimal(text, what="dividend")
    except UsageError as error:
        return None, error.message.rstrip(".")
    return value, None


def _split(text: str) -> tuple[tuple[Decimal, Decimal] | None, str | None]:
    """An optional `split` cell, NEW:OLD (4:1, 1:10), applied at the start of its bar."""
    if not text:
        return None, None
    new, sep, old = text.partition(":")
    try:
        ratio = (parse_decimal(new, what="split NEW"), parse_decimal(old, what="split OLD")) if sep else None
    except UsageError:
        ratio = None
    if ratio is None or ratio[0] <= 0 or ratio[1] <= 0:
        return None, f"split {text[:20]!r} is not NEW:OLD such as 4:1 or 1:10"
    return ratio, None
