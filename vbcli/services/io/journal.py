"""Ledger (hledger) and beancount journals of the ledger, for a second tool to verify.

One transaction per fill (shares at cost, cash by the trade's cash amount, commission,
realized P&L for sells), per deposit or withdrawal, per dividend step (the payment at its pay
date) and per split (share amounts exchanged with Equity:VB:Splits at zero cash), each
balancing exactly; sorted by time and
deterministic. hledger gets an inline balance assertion of the shares and the cash after
every fill and cash flow. beancount checks balances at the start of a day, so it gets a
`balance` directive for both, dated the next day, after each day with activity. In beancount,
positions of a fifo, lifo or hifo portfolio hold lots at cost (journal_lots).

Accounts, per position: Assets:VB:<Portfolio>:<Symbol>:{Shares,Cash,Dividends-Receivable},
Income:VB:<Portfolio>:<Symbol>:{Realized-PnL,Dividends},
Expenses:VB:<Portfolio>:<Symbol>:{Commissions,Withholding-Tax}; Equity:VB:{Opening-Balances,Transfers,Splits}.
Commodities: a symbol that is not a valid beancount commodity (2–24 of A-Z 0-9 ' . _ -,
starting with a letter, ending with a letter or digit) becomes `VB-<cleaned>-<6 hex of its
sha1>`, the same name in both formats.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from vbcli.domain.numbers import ZERO, fmt, normalize
from vbcli.render import JournalWriter
from vbcli.errors import UsageError
from vbcli.services.io import journal_lots
from vbcli.services.io.source import Filters, Sink, scope, stream
from vbcli.store.tables import CashFlow, Dividend, Portfolio, Position, Price, Split, Trade

_COMMODITY = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$")
GLOBAL_ACCOUNTS = ("Equity:VB:Opening-Balances", "Equity:VB:Transfers", "Equity:VB:Splits")


def commodity(symbol: str, currencies: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """The journal commodity for a symbol: itself when valid, else a deterministic stand-in."""
    if _COMMODITY.match(symbol) and symbol not in currencies:
        return symbol
    cleaned = re.sub(r"[^A-Z0-9]+", "-", symbol.upper()).strip("-")[:13]
    return f"VB-{cleaned}-{hashlib.sha1(symbol.encode()).hexdigest()[:6].upper()}".replace("--", "-")


def component(text: str) -> str:
    """An account name component: letters, digits and dashes, starting upper-case or a digit."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "X"
    return cleaned[0].upper() + cleaned[1:]


@dataclass
class Book:
    """One position in the journal: its accounts, commodity and running shares and cash."""

    row: Any
    portfolio: str
    currency: str
    base: str
    unit: str
    start: datetime
    method: str = "average"  # the portfolio's cost basis
    lots: Any = None  # journal_lots.LotBook: beancount lots at cost (fifo, lifo, hifo)
    qty: Decimal = ZERO
    cash: Decimal = ZERO
    dirty: bool = False
    accounts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = self.base.split(":", 1)[1]
        self.accounts = {
            "shares": f"Assets:VB:{parts}:Shares", "cash": f"Assets:VB:{parts}:Cash",
            "receivable": f"Assets:VB:{parts}:Dividends-Receivable", "pnl": f"Income:VB:{parts}:Realized-PnL",
            "dividends": f"Income:VB:{parts}:Dividends", "commission": f"Expenses:VB:{parts}:Commissions",
            "tax": f"Expenses:VB:{parts}:Withholding-Tax",
        }


def _day(value: date) -> datetime:
    return datetime.combine(value, time(), timezone.utc)


def _books(session: Session, filters: Filters) -> dict[str, Book]:
    p = Position.__table__.c  # type: ignore[attr-defined]
    stmt = select(Position.__table__, Portfolio.name.label("pf"), Portfolio.currency.label("cur"),  # type: ignore[arg-type, attr-defined]
                  Portfolio.cost_basis.label("method")).join(  # type: ignore[arg-type, attr-defined]
        Portfolio.__table__, Portfolio.id == p.portfolio_id)  # type: ignore[arg-type]
    rows = session.connection().execute(scope(session, stmt, p.id, filters).order_by(p.created_at, p.id)).all()
    first_fill = dict(session.connection().execute(
        select(Trade.position_id, func.min(Trade.executed_at)).where(Trade.status == "executed").group_by(Trade.position_id)).all())
    first_div = dict(session.connection().execute(
        select(Dividend.position_id, func.min(Dividend.ex_date)).group_by(Dividend.position_id)).all())
    currencies = {row.cur for row in rows}
    books: dict[str, Book] = {}
    used: set[str] = set()
    for row in rows:
        base = f"Assets:{component(row.pf)}:{component(row.symbol)}"
        if base in used:
            base = f"{base}-{row.id.split('_', 1)[-1].upper()}"
        used.add(base)
        starts = [row.opened_at or row.created_at, first_fill.get(row.id)] + ([_day(first_div[row.id])] if row.id in first_div else [])
        books[row.id] = Book(row, row.pf, row.cur, base, commodity(row.symbol, currencies), min(s for s in starts if s),
                             row.method or "average")
    return books


def _opening(writer: JournalWriter, book: Book) -> None:
    row = book.row
    book.qty, book.cash = row.opening_qty, row.opening_cash
    postings = []
    if row.opening_qty:
        cost = row.opening_qty * (row.opening_avg_cost or ZERO)
        shares = (journal_lots.opening(writer, book, book.start) if book.lots is not None
                  else f"{writer.amount(row.opening_qty, book.unit)} @@ {writer.amount(cost, book.currency)}")
        postings.append((book.accounts["shares"], shares, writer.amount(book.qty, book.unit)))
    else:
        cost = ZERO
    if row.opening_cash:
        postings.append((book.accounts["cash"], writer.amount(row.opening_cash, book.currency), writer.amount(book.cash, book.currency)))
    if postings:
        postings.append((GLOBAL_ACCOUNTS[0], writer.amount(-(cost + row.opening_cash), book.currency), ""))
        writer.transaction(book.start, f"open {book.portfolio}/{row.symbol}", {"position_id": row.id}, postings)
        book.dirty = True


def _fill(writer: JournalWriter, book: Book, t: Any) -> None:
    """Cash moves by the trade's cash amount (q·P to the cent); a sell's shares leave at their cost."""
    unit, cur, acc = book.unit, book.currency, book.accounts
    amount = t.notional if t.cash_amount is None else t.cash_amount
    if book.lots is not None:
        return _fill_lots(writer, book, t, amount)
    if t.side == "buy":
        book.qty += t.qty
        book.cash -= amount + t.commission
        postings = [(acc["shares"], f"{writer.amount(t.qty, unit)} @@ {writer.amount(amount, cur)}", writer.amount(book.qty, unit)),
                    (acc["cash"], writer.amount(-(amount + t.commission), cur), writer.amount(book.cash, cur))]
        gain = ZERO
    else:
        book.qty -= t.qty
        book.cash += amount - t.commission
        cost = t.notional - t.realized_pnl - t.commission  # realized = q·P − cost − c
        gain = amount - cost  # before commission; the commission is its own expense
        postings = [(acc["shares"], f"{writer.amount(-t.qty, unit)} @@ {writer.amount(cost, cur)}", writer.amount(book.qty, unit)),
                    (acc["cash"], writer.amount(amount - t.commission, cur), writer.amount(book.cash, cur))]
    _post_fill(writer, book, t, postings, gain)


def _fill_lots(writer: JournalWriter, book: Book, t: Any, amount: Decimal) -> None:
    """beancount, lots at cost: a buy opens a lot, a sell closes the lots vb closed (journal_lots)."""
    cash = book.accounts["cash"]
    if t.side == "buy":
        book.qty += t.qty
        book.cash -= amount + t.commission
        postings = journal_lots.buy(writer, book, t, amount) + [(cash, writer.amount(-(amount + t.commission), book.currency), "")]
        gain = ZERO
    else:
        book.qty -= t.qty
        book.cash += amount - t.commission
        postings, gain = journal_lots.sell(writer, book, t, amount)
        postings.append((cash, writer.amount(amount - t.commission, book.currency), ""))
    _post_fill(writer, book, t, postings, gain)


def _post_fill(writer: JournalWriter, book: Book, t: Any, postings: list[tuple[str, str, str]], gain: Decimal) -> None:
    cur, acc = book.currency, book.accounts
    if t.commission:
        postings.append((acc["commission"], writer.amount(t.commission, cur), ""))
    if gain:
        postings.append((acc["pnl"], writer.amount(-gain, cur), ""))
    title = f"{t.side} {fmt(t.qty)} {t.symbol} at {fmt(t.price)}"
    writer.transaction(t.executed_at, title, {"trade_id": t.id, "order_id": t.order_id}, postings)
    book.dirty = True


def _split(writer: JournalWriter, book: Book, s: Any) -> None:
    """A split as an exchange of share amounts at zero cash: the new shares come from Equity:VB:Splits."""
    change = normalize(book.qty * s.ratio_new / s.ratio_old - book.qty)
    book.qty += change
    postings = [(book.accounts["shares"], writer.amount(change, book.unit), writer.amount(book.qty, book.unit)),
                (GLOBAL_ACCOUNTS[2], writer.amount(-change, book.unit), "")]
    if book.lots is not None:
        postings = journal_lots.split(writer, book, s.ratio_new, s.ratio_old)
    title = f"split {fmt(s.ratio_new)}:{fmt(s.ratio_old)} {book.row.symbol}"
    writer.transaction(_day(s.effective_date), title, {"split_id": s.id}, postings)
    book.dirty = True


def _flow(writer: JournalWriter, book: Book, f: Any) -> None:
    book.cash += f.amount
    cash = (book.accounts["cash"], writer.amount(f.amount, book.currency), writer.amount(book.cash, book.currency))
    if f.kind == "dividend":
        other = (book.accounts["receivable"], writer.amount(-f.amount, book.currency), "")
        title, meta = f"dividend paid {book.row.symbol}", {"cash_flow_id": f.id, "dividend_id": f.ref_id or ""}
    else:
        other = (GLOBAL_ACCOUNTS[1], writer.amount(-f.amount, book.currency), "")
        title, meta = f"{f.kind} {book.row.symbol}", {"cash_flow_id": f.id}
    writer.transaction(f.ts, title, meta, [cash, other])
    book.dirty = True


def _ex_dividend(writer: JournalWriter, book: Book, d: Any) -> None:
    cur, acc = book.currency, book.accounts
    postings = [(acc["receivable"], writer.amount(d.net, cur), "")]
    if d.tax:
        postings.append((acc["tax"], writer.amount(d.tax, cur), ""))
    postings.append((acc["dividends"], writer.amount(-d.gross, cur), ""))
    title = f"ex-dividend {book.row.symbol} {fmt(d.per_share)} per share on {fmt(d.qty)} shares"
    writer.transaction(_day(d.ex_date), title, {"dividend_id": d.id}, postings)


def _entries(session: Session, books: dict[str, Book], filters: Filters) -> Iterator[tuple[datetime, int, str, str, Any]]:
    """Every entry as (time, rank, id, kind, row), merged in time order from sorted streams."""
    t, c, d, x = Trade.__table__.c, CashFlow.__table__.c, Dividend.__table__.c, Split.__table__.c  # type: ignore[attr-defined]
    openings = sorted((book.start, 0, pid, "open", book) for pid, book in books.items())
    fills = ((r.executed_at, 1, r.id, "fill", r) for r in stream(session, scope(
        session, select(Trade.__table__).where(t.status == "executed"), t.position_id, filters).order_by(t.executed_at, t.id)))  # type: ignore[arg-type]
    flows = ((r.ts, 1, r.id, "flow", r) for r in stream(session, scope(
        session, select(CashFlow.__table__), c.position_id, filters).order_by(c.ts, c.id)))  # type: ignore[arg-type]
    dividends = ((_day(r.ex_date), 1, r.id, "ex", r) for r in stream(session, scope(
        session, select(Dividend.__table__).where(d.gross.is_not(None)), d.position_id, filters).order_by(d.ex_date, d.id)))  # type: ignore[arg-type]
    splits = ((_day(r.effective_date), 0, r.id, "split", r) for r in stream(session, scope(
        session, select(Split.__table__).where(x.status == "applied"), x.position_id, filters).order_by(x.effective_date, x.id)))  # type: ignore[arg-type]
    return heapq.merge(openings, splits, fills, flows, dividends, key=lambda entry: entry[:3])


HANDLERS = {"open": lambda w, b, r: _opening(w, b), "fill": _fill, "flow": _flow, "ex": _ex_dividend, "split": _split}


def write_journal(session: Session, *, format: str, filters: Filters, sink: Sink) -> None:
    """Write the journal of the positions in scope (their whole history) to the sink."""
    if filters.side or filters.type or filters.status or filters.since or filters.until:
        raise UsageError("Ledger and beancount journals cover whole positions; only a position and --portfolio filter them.")
    books = _books(session, filters)
    writer = JournalWriter(format, sink.stream)
    if writer.beancount:
        journal_lots.lot_books(session, books)
    lotted = any(book.lots is not None for book in books.values())
    writer.header(books, GLOBAL_ACCOUNTS + ((journal_lots.ROUNDING,) if lotted else ()), journal_lots.open_suffix)
    if lotted:
        writer.write(journal_lots.OPTIONS)
    _declarations(writer, books)
    _price_directives(session, writer, books, filters, sink)
    day: date | None = None
    for count, (when, _rank, _id, kind, row) in enumerate(_entries(session, books, filters), 1):
        if day is not None and when.date() != day:
            writer.balances(books, day)
        day = when.date()
        book = row if kind == "open" else books[row.position_id]
        HANDLERS[kind](writer, book, row)
        if count % 1000 == 0:
            sink.chunk_done()
    if day is not None:
        writer.balances(books, day)


# ---- prices and declarations (SPEC §8.4): what `hledger check -s` and `hledger roi` need ------------


def _declarations(writer: JournalWriter, books: dict[str, Book]) -> None:
    """hledger: declare every commodity and account, so that `hledger check -s` (strict) passes."""
    if writer.beancount or not books:
        return
    units = sorted({book.currency for book in books.values()} | {book.unit for book in books.values()})
    writer.write("\n" + "".join(f"commodity {_unit(writer, unit)}\n" for unit in units))
    accounts = list(GLOBAL_ACCOUNTS) + [account for book in books.values() for account in book.accounts.values()]
    writer.write("".join(f"account {account}\n" for account in accounts))


def _price_directives(session: Session, writer: JournalWriter, books: dict[str, Book], filters: Filters, sink: Sink) -> None:
    """Every stored price and fill of the positions' symbols as a `P` (hledger) or `price` (beancount)
    directive, oldest first; on one date the latest observation comes last, which is the one both tools use."""
    units = {book.row.symbol: (book.unit, book.currency) for book in books.values()}
    if not units:
        return
    p, t = Price.__table__.c, Trade.__table__.c  # type: ignore[attr-defined]
    stored = ((r.at, r.symbol, r.price) for r in stream(session, select(p.at, p.symbol, p.price).where(
        p.symbol.in_(sorted(units))).order_by(p.at, p.symbol)))
    fills = ((r.executed_at, r.symbol, r.price) for r in stream(session, scope(session, select(
        t.executed_at, t.symbol, t.price).where(t.status == "executed"), t.position_id, filters).order_by(t.executed_at, t.id)))
    writer.write("\n")
    for count, (at, symbol, price) in enumerate(heapq.merge(stored, fills, key=lambda e: e[0]), 1):
        unit, currency = units[symbol]
        if writer.beancount:
            writer.write(f"{at.date().isoformat()} price {unit}  {writer.amount(price, currency)}\n")
        else:
            writer.write(f"P {at.date().isoformat()} {_unit(writer, unit)} {writer.amount(price, currency)}\n")
        if count % 1000 == 0:
            sink.chunk_done()


def _unit(writer: JournalWriter, unit: str) -> str:
    return writer.amount(Decimal(0), unit).split(" ", 1)[1]
