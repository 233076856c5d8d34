"""Stored prices (SPEC §8.4): add, import, list, and the price of a symbol at a time.

A price is one exact value per symbol and time. Writing the same symbol, time and price again
changes nothing; another price for a stored symbol and time is a conflict (exit 4) unless
`replace`. Fills are price observations too: `price_at` takes the latest stored price or fill
at or before the time asked, and says which and when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from vbcli import nogc
from vbcli.domain.numbers import fmt
from vbcli.domain.timeparse import rfc3339, utcnow
from vbcli.errors import BadInputData, Conflict, problem
from vbcli.services.io.bulk import TableWriter
from vbcli.services.io.pricefile import PriceFile, PriceRow
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.store import rawread
from vbcli.store.tables import Position, Price, Trade

CHUNK = 5000  # rows checked and inserted together: memory stays flat however long the file
MAX_SHOWN_PROBLEMS = 50
FIELDS = ["symbol", "time", "price", "source", "created_at"]


@dataclass(frozen=True)
class Quote:
    """The price a command used: its value, its time and where it came from (stored or fill)."""

    symbol: str
    price: Decimal
    at: datetime
    source: str  # "stored" | "fill"


def price_view(row: Any, status: str | None = None) -> dict[str, Any]:
    view = {"symbol": row.symbol, "time": row.at, "price": row.price, "source": row.source, "created_at": row.created_at}
    if status is not None:
        view["status"] = status
    return view


def _stored(session: Session, symbol: str, at: datetime) -> Quote | None:
    p = Price.__table__.c  # type: ignore[attr-defined]
    row = session.connection().execute(
        select(p.at, p.price).where(p.symbol == symbol, p.at <= at).order_by(p.at.desc()).limit(1)).first()
    return None if row is None else Quote(symbol, row.price, row.at, "stored")


def _filled(session: Session, symbol: str, at: datetime) -> Quote | None:
    """The latest executed fill of any position of the symbol at or before `at`."""
    t = Trade.__table__.c  # type: ignore[attr-defined]
    ids = session.connection().execute(select(Position.id).where(Position.symbol == symbol)).scalars().all()  # type: ignore[arg-type]
    best: Quote | None = None
    for position_id in ids:  # one indexed look-up per position (position_id, executed_at)
        row = session.connection().execute(
            select(t.price, t.executed_at).where(t.position_id == position_id, t.status == "executed", t.executed_at <= at)
            .order_by(t.executed_at.desc()).limit(1)).first()
        if row is not None and (best is None or row.executed_at > best.at):
            best = Quote(symbol, row.price, row.executed_at, "fill")
    return best


def price_at(session: Session, symbol: str, at: datetime | None = None) -> Quote | None:
    """The latest stored price or fill of `symbol` at or before `at` (default now); None if none.

    A stored price and a fill at the same moment: the stored price wins (it is what the user said).
    """
    at = at or utcnow()
    stored, filled = _stored(session, symbol, at), _filled(session, symbol, at)
    if stored is None or (filled is not None and filled.at > stored.at):
        return filled
    return stored


def prices_at(session: Session, symbols: Iterable[str], at: datetime | None = None) -> dict[str, Quote]:
    """`price_at` of each symbol that has one."""
    found = {symbol: price_at(session, symbol, at) for symbol in set(symbols)}
    return {symbol: quote for symbol, quote in found.items() if quote is not None}


def quote_fields(quote: Quote | None) -> dict[str, Any]:
    """The fields a command adds to say which price it used."""
    return {"price_at": quote.at if quote else None, "price_source": quote.source if quote else None}


def add(session: Session, *, symbol: str, price: Decimal, at: datetime | None = None, replace: bool = False) -> dict[str, Any]:
    """Store one price; the same again changes nothing, another price needs `replace`."""
    symbol = refs.normalize_symbol(symbol)
    at = at or utcnow()
    row = session.get(Price, (symbol, at))
    if row is not None and row.price == price:
        return price_view(row, "unchanged")
    if row is not None and not replace:
        raise Conflict(f"{symbol} already has the price {fmt(row.price)} at {rfc3339(at)}; give --replace to store {fmt(price)} instead.")
    status = "added" if row is None else "replaced"
    old = None if row is None else row.price
    if row is None:
        row = Price(symbol=symbol, at=at, price=price, source="add", created_at=utcnow())
    else:
        row.price, row.source = price, "add"
    session.add(row)
    session.flush()
    record_event(session, "price_added" if old is None else "price_replaced", f"{symbol} {fmt(price)} at {rfc3339(at)}",
                 data={"symbol": symbol, "time": at, "price": price, "old": old})
    return price_view(row, status)


class _Importer:
    """Checks and writes the rows of one file, CHUNK at a time, in the caller's transaction."""

    def __init__(self, session: Session, file: PriceFile, replace: bool) -> None:
        self.session, self.file, self.replace = session, file, replace
        self.writer = TableWriter(session, Price.__table__)  # type: ignore[arg-type]
        self.now = utcnow()
        self.counts = {"rows": 0, "added": 0, "unchanged": 0, "replaced": 0}
        self.conflicts: list[str] = []
        self.symbols: set[str] = set()

    def chunk(self, rows: list[PriceRow]) -> None:
        latest: dict[tuple[str, datetime], PriceRow] = {}
        for row in rows:
            earlier = latest.get((row.symbol, row.at))
            if earlier is not None and earlier.price != row.price:
                self.conflicts.append(problem(self.file.source, row.line, f"{row.symbol} at {rfc3339(row.at)} repeats line "
                                              f"{earlier.line} with another price ({fmt(row.price)}, not {fmt(earlier.price)})"))
            latest[(row.symbol, row.at)] = row
        self.counts["rows"] += len(rows)
        self.counts["unchanged"] += len(rows) - len(latest)
        stored = self._stored(list(latest.values()))
        new, changed = [], []
        for key, row in latest.items():
            old = stored.get(key)
            if old is None:
                new.append(row)
            elif old == row.price:
                self.counts["unchanged"] += 1
            elif self.replace:
                changed.append(row)
            else:
                self.conflicts.append(problem(self.file.source, row.line, f"{row.symbol} already has the price {fmt(old)} at "
                                              f"{rfc3339(row.at)}; this row says {fmt(row.price)} (give --replace to store it)"))
        self._write(new, changed)

    def _stored(self, rows: list[PriceRow]) -> dict[tuple[str, datetime], Decimal]:
        if not rows:
            return {}
        p = Price.__table__.c  # type: ignore[attr-defined]
        symbols = {row.symbol for row in rows}
        first, last = min(row.at for row in rows), max(row.at for row in rows)
        query = select(p.symbol, p.at, p.price).where(p.symbol.in_(symbols), p.at >= first, p.at <= last)
        return {(r.symbol, r.at): r.price for r in self.session.connection().execute(query)}

    def _write(self, new: list[PriceRow], changed: list[PriceRow]) -> None:
        if self.conflicts or self.file.problems:
            return  # nothing will be kept: stop writing, keep checking
        self.writer.write(self.session, [{"symbol": r.symbol, "at": r.at, "price": fmt(r.price), "source": "import",
                                          "created_at": self.now} for r in new])
        p = Price.__table__.c  # type: ignore[attr-defined]
        for r in changed:
            self.session.connection().execute(update(Price.__table__).where(p.symbol == r.symbol, p.at == r.at)  # type: ignore[arg-type]
                                              .values(price=r.price, source="import"))
        self.counts["added"] += len(new)
        self.counts["replaced"] += len(changed)
        self.symbols.update(r.symbol for r in new)
        self.symbols.update(r.symbol for r in changed)


def import_file(session: Session, *, path: str, symbol: str | None = None, replace: bool = False) -> dict[str, Any]:
    """Import a price file (`-` = stdin) all or nothing: bad rows are exit 7, conflicting ones exit 4."""
    file = PriceFile(path, symbol)
    importer = _Importer(session, file, replace)
    chunk: list[PriceRow] = []
    with nogc.paused():  # a row is a few small objects, millions of them, and no cycles
        for row in file.rows():
            chunk.append(row)
            if len(chunk) >= CHUNK:
                importer.chunk(chunk)
                chunk = []
        importer.chunk(chunk)
    if file.problems:
        raise BadInputData(_sentence(file.source, file.problems), details=_shown(file.source, file.problems))
    if importer.conflicts:
        raise Conflict(_sentence(file.source, importer.conflicts, "conflict"), details=_shown(file.source, importer.conflicts))
    if importer.counts["rows"] == 0:
        raise BadInputData(f"{file.source} has no price rows after the header; nothing was done.",
                           details=[problem(file.source, 2, "no price rows after the header")])
    result = {"file": file.source, **importer.counts, "symbols": len(importer.symbols)}
    if importer.counts["added"] or importer.counts["replaced"]:
        record_event(session, "prices_imported", f"{importer.counts['added']} prices added, {importer.counts['replaced']} replaced "
                     f"from {file.source}", data={**result, "symbols": sorted(importer.symbols)[:100]})
    return result


def _sentence(source: str, problems: list[str], what: str = "problem") -> str:
    count = len(problems)
    return f"{source} has {count} {what}{'s' if count != 1 else ''}; nothing was imported."


def _shown(source: str, problems: list[str]) -> list[str]:
    shown = problems[:MAX_SHOWN_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(problem(source, "*", f"… and {len(problems) - len(shown)} more"))
    return shown


def list_prices(session: Session, *, symbol: str | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
    """Stored prices, newest first (by symbol within a time)."""
    p = Price.__table__.c  # type: ignore[attr-defined]
    query = select(Price.__table__)  # type: ignore[arg-type]
    if symbol:
        query = query.where(p.symbol == refs.normalize_symbol(symbol))
    if since is not None:
        query = query.where(p.at >= since)
    if until is not None:
        query = query.where(p.at <= until)
    query = query.order_by(p.at.desc(), p.symbol)
    if limit:
        query = query.limit(limit)
    return [price_view(row) for row in session.connection().execute(query)]


def series(session: Session, symbol: str, until: datetime, times: rawread.Memo | None = None) -> list[tuple[datetime, Decimal]]:
    """Every stored price of `symbol` before `until`, oldest first (the report's valuation).

    `times`: stored time → datetime, shared between symbols (a rawread.Memo: daily closes share their times).
    """
    p = Price.__table__.c  # type: ignore[attr-defined]
    query = select(p.at, p.price).where(p.symbol == symbol, p.at < until).order_by(p.at)
    dialect = session.connection().dialect
    memo = times if times is not None else rawread.Memo(rawread.times(dialect))  # (an empty Memo is falsy)
    decimal, time = rawread.decimals(dialect), memo.__getitem__
    return [(time(at), decimal(price)) for at, price in rawread.driver_rows(session, query)]


def max_age_ago(age: timedelta, now: datetime | None = None) -> datetime:
    """The oldest time a price may have and still count as fresh."""
    return (now or utcnow()) - age
