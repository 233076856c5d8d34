"""Price files: `symbol,price` for `vb evaluate --all`, `date,price` bars for `vb simulate`
(read by services/io/reader.py, columns as schemas.QUOTES and schemas.BARS).

Every problem of a file is collected and reported together as `FILE:LINE: message`
(exit 7); nothing is evaluated or simulated from a file with a problem in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from vbcli.domain.numbers import ZERO, parse_decimal
from vbcli.domain.simulate import Bar
from vbcli.errors import BadInputData, UsageError, problem
from vbcli.services.io.reader import open_table
from vbcli.services.io.schemas import BARS, QUOTES, number
from vbcli.services.shared.refs import normalize_symbol

MAX_SHOWN_PROBLEMS = 50


@dataclass(frozen=True)
class Quotes:
    """The prices of a `symbol,price` file, the line each symbol is on, and the columns nobody read."""

    source: str
    prices: dict[str, Decimal]
    lines: dict[str, int]
    unused: tuple[str, ...] = ()


def _number(text: str, what: str) -> tuple[Decimal | None, str | None]:
    """A positive decimal, or the problem with it."""
    if not text:
        return None, f"{what} is missing"
    try:
        value = number(text, what=what, allow_negative=True)
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


def parse_symbol_prices(rows: Iterable[tuple[int, dict[str, str]]], source: str) -> dict[str, Decimal]:
    """The reader's rows of schemas.QUOTES → symbol → price."""
    return _quotes(rows, source)[0]


def _quotes(rows: Iterable[tuple[int, dict[str, str]]], source: str) -> tuple[dict[str, Decimal], dict[str, int]]:
    prices: dict[str, Decimal] = {}
    first_line: dict[str, int] = {}
    problems: list[str] = []
    for line, row in rows:
        symbol_text, price_text = row["symbol"], row["price"]
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
    return prices, first_line


def read_symbol_prices(path: str, mapping: Mapping[str, str] | None = None) -> Quotes:
    """The `symbol,price` file at `path` (`-` = stdin), read by the one reader."""
    with open_table(path, QUOTES, mapping=mapping) as table:
        prices, lines = _quotes(table.rows(), table.source)
        return Quotes(table.source, prices, lines, tuple(table.unused))


def parse_bars(rows: Iterable[tuple[int, dict[str, str]]], source: str) -> list[Bar]:
    """The reader's rows of schemas.BARS (date and price or close, optional dividend and split NEW:OLD), oldest first."""
    line = 1
    bars: list[Bar] = []
    problems: list[str] = []
    last: tuple[date, int] | None = None
    for line, row in rows:
        day, trouble = _date(row["date"])
        price, price_trouble = _number(row["price"], "price")
        dividend, dividend_trouble = _dividend(row["dividend"])
        split, split_trouble = _split(row["split"])
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


def read_bars(path: str, mapping: Mapping[str, str] | None = None) -> list[Bar]:
    """The `date,price` file at `path` (`-` = stdin), read by the one reader."""
    with open_table(path, BARS, mapping=mapping) as table:
        return parse_bars(table.rows(), table.source)


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
        value = number(text, what="dividend")
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
