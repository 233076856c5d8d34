"""Reading a price file for `vb prices import`, streamed: `symbol,date|time,price|close` rows,
or with `--symbol`, `date|time,price|close` (SPEC §8.4).

The file is read row by row, never whole, so memory stays flat however long it is. Problems
are collected as `FILE:LINE: message` (exit 7) while the good rows flow on; the caller writes
nothing when any problem was found.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, TextIO

from vbcli.domain.numbers import MAX_FRACTION_DIGITS, MAX_MAGNITUDE
from vbcli.domain.timeparse import parse_time
from vbcli.errors import BadInputData, NotFound, UsageError, problem
from vbcli.services.shared.refs import normalize_symbol

STDIN = "-"
_PRICE = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")  # a plain positive decimal


class PriceRow(NamedTuple):
    """One good row (a tuple: an import reads millions)."""

    line: int
    symbol: str
    at: datetime
    price: Decimal


class PriceFile:
    """The rows of one price file; `problems` fills as they are read."""

    def __init__(self, path: str, symbol: str | None = None) -> None:
        self.path = path
        self.source = "<stdin>" if path == STDIN else path
        self.symbol = normalize_symbol(symbol) if symbol else None
        self.problems: list[str] = []
        self._symbols: dict[str, str] = {}
        self._days: dict[str, datetime] = {}
        self._when = "date"

    def _open(self) -> TextIO:
        if self.path == STDIN:
            buffer = getattr(sys.stdin, "buffer", None)
            return io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="") if buffer is not None else sys.stdin
        try:
            return open(Path(self.path), encoding="utf-8-sig", newline="")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"No file {self.path!r}; give the path of a CSV file, or - for stdin.") from None
        except OSError as error:
            raise BadInputData(f"Cannot read {self.path!r}: {error.strerror or error}.") from None

    def rows(self) -> Iterator[PriceRow]:
        """The good rows in file order; bad ones become problems."""
        handle = self._open()
        reader = csv.reader(handle)
        try:
            columns = self._columns(reader)
            for cells in reader:
                if cells and any(cell.strip() for cell in cells):
                    row = self._row(reader.line_num, cells, columns)
                    if row is not None:
                        yield row
        except UnicodeDecodeError:
            self.problems.append(problem(self.source, reader.line_num + 1, "not UTF-8 text"))
        except csv.Error as error:
            self.problems.append(problem(self.source, reader.line_num, f"not readable as CSV: {error}"))
        finally:
            if handle is not sys.stdin:
                handle.detach() if self.path == STDIN else handle.close()

    def _columns(self, reader: Iterator[list[str]]) -> tuple[int | None, int, int]:
        """(symbol, time, price) column indexes from the header row."""
        header = next(reader, None)
        if header is None:
            raise BadInputData(f"{self.source} is empty; it needs a header row and price rows.",
                               details=[problem(self.source, 1, "empty file: expected a header such as symbol,date,price")])
        names = {name.strip().lower(): index for index, name in reversed(list(enumerate(header)))}
        when = names.get("date", names.get("time"))
        price = names.get("price", names.get("close"))
        symbol = names.get("symbol")
        needs = "date,price (or date,close)" if self.symbol else "symbol,date,price (or time, close)"
        missing = [what for what, index in (("symbol", symbol if not self.symbol else 0), ("date", when), ("price", price))
                   if index is None]
        if missing:
            raise BadInputData(f"{self.source} lacks the {' and '.join(missing)} column.",
                               details=[problem(self.source, 1, f"missing column {what!r}; the header needs {needs}") for what in missing])
        assert when is not None and price is not None
        self._when = "date" if "date" in names else "time"
        return (None if self.symbol else symbol), when, price

    def _row(self, line: int, cells: list[str], columns: tuple[int | None, int, int]) -> PriceRow | None:
        symbol_at, when_at, price_at = columns
        try:
            symbol_cell = "" if symbol_at is None else cells[symbol_at].strip()
            when_cell, price_cell = cells[when_at].strip(), cells[price_at].strip()
        except IndexError:  # a short row: the missing cells are empty
            symbol_cell, when_cell, price_cell = (_cell(cells, index) for index in columns)
        symbol = self.symbol or self._symbol(line, symbol_cell)
        at = self._time(line, when_cell)
        price = self._price(line, price_cell)
        if symbol is None or at is None or price is None:
            return None
        return PriceRow(line, symbol, at, price)

    def _symbol(self, line: int, text: str) -> str | None:
        known = self._symbols.get(text)
        if known is not None:
            return known
        try:
            symbol = normalize_symbol(text) if text else None
        except UsageError:
            symbol = None
        if symbol is None:
            self.problems.append(problem(self.source, line, f"symbol {text[:40]!r} is not a valid symbol" if text else "symbol is missing"))
        elif len(self._symbols) < 10_000:
            self._symbols[text] = symbol
        return symbol

    def _time(self, line: int, text: str) -> datetime | None:
        if len(text) == 10:  # the common case, a closing price per date: its day's 00:00 UTC
            known = self._days.get(text)
            if known is not None:
                return known
            try:
                day = date.fromisoformat(text)
                at = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
                if len(self._days) > 50_000:
                    self._days.clear()
                self._days[text] = at
                return at
            except ValueError:
                pass
        if not text:
            self.problems.append(problem(self.source, line, f"{self._when} is missing"))
            return None
        try:
            return parse_time(text, what=self._when)
        except UsageError as error:
            self.problems.append(problem(self.source, line, error.message.rstrip(".")))
            return None

    def _price(self, line: int, text: str) -> Decimal | None:
        trouble = None
        if not text:
            trouble = "price is missing"
        elif not _PRICE.match(text):
            trouble = f"price {text[:40]!r} is not a positive decimal number such as 152.3"
        else:
            value = Decimal(text)
            dot = text.find(".")  # the pattern allows digits, one dot, digits: the places are after the dot
            if value == 0:
                trouble = "price must be greater than zero"
            elif value >= MAX_MAGNITUDE:
                trouble = f"price {text[:40]!r} is too large"
            elif dot >= 0 and len(text) - dot - 1 > MAX_FRACTION_DIGITS:
                trouble = f"price {text[:40]!r} has more than {MAX_FRACTION_DIGITS} decimal places"
            else:
                return value
        self.problems.append(problem(self.source, line, trouble))
        return None


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""
