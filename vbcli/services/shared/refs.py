"""Finding things by what users type: ids, id prefixes, symbols, PORTFOLIO/SYMBOL, names."""

from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import and_
from sqlmodel import Session, SQLModel, select

from vbcli.errors import Conflict, NotFound, Refused, UsageError
from vbcli.store.tables import Dividend, Order, Portfolio, Position, Trade

M = TypeVar("M", bound=SQLModel)

MIN_PREFIX = 6
LIVE_STATUSES = ("open", "partially_filled")  # orders that still hold the position
DEFAULT_CURRENCY = "USD"  # a position whose portfolio is gone (never in a consistent ledger)
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-_:^=]{0,31}$")
_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f/]")


def normalize_symbol(text: str) -> str:
    """Upper-case a ticker and check it (letters, digits and . - _ : ^ =, at most 32)."""
    symbol = text.strip().upper()
    if not _SYMBOL.match(symbol):
        raise UsageError(f"{text[:40]!r} is not a valid symbol: use letters, digits and . - _ : (at most 32).")
    return symbol


def check_name(text: str, *, what: str, max_length: int = 200) -> str:
    """Portfolio names: printable, no slash (it separates PORTFOLIO/SYMBOL)."""
    name = text.strip()
    if not name or len(name) > max_length or _NAME_FORBIDDEN.search(name):
        raise UsageError(f"{what} must be 1 to {max_length} printable characters without '/'.")
    return name


def check_text(text: str | None, *, what: str, max_length: int = 2000) -> str:
    """Free text (notes, reasons, descriptions): no control characters."""
    if text is None:
        return ""
    if len(text) > max_length:
        raise UsageError(f"{what} is longer than {max_length} characters.")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text):
        raise UsageError(f"{what} contains control characters.")
    return text


def by_id(session: Session, model: type[M], ref: str, *, kind: str) -> M:
    """Find a row by its id or an unambiguous prefix of at least 6 characters."""
    ref = ref.strip()
    found = session.get(model, ref) if ref else None
    if found is not None:
        return found
    if len(ref) < MIN_PREFIX:
        raise NotFound(f"No {kind} {ref!r}; give its id or at least {MIN_PREFIX} characters of it.")
    column = model.id  # type: ignore[attr-defined]
    if session.info.get("vb_dialect") == "postgresql":
        column = column.collate("C")
    upper = ref[:-1] + chr(ord(ref[-1]) + 1)
    rows = session.exec(select(model).where(and_(column >= ref, column < upper)).limit(6)).all()
    if not rows:
        raise NotFound(f"No {kind} {ref!r}.")
    if len(rows) > 1:
        ids = ", ".join(r.id for r in rows[:5])  # type: ignore[attr-defined]
        raise Conflict(f"{kind.capitalize()} reference {ref!r} is ambiguous: {ids}; give more characters.")
    return rows[0]


def portfolio_by_name(session: Session, name: str) -> Portfolio:
    row = session.exec(select(Portfolio).where(Portfolio.name == name.strip())).first()
    if row is None:
        raise NotFound(f"No portfolio named {name.strip()[:60]!r}; see `vb portfolios list`.")
    return row


def position(session: Session, ref: str) -> Position:
    """Resolve POS: an id (or prefix), a symbol held open once, or PORTFOLIO/SYMBOL."""
    ref = ref.strip()
    if ref.startswith("pos_"):
        return by_id(session, Position, ref, kind="position")
    if "/" in ref:
        portfolio_name, _, symbol_text = ref.rpartition("/")
        portfolio = portfolio_by_name(session, portfolio_name)
        symbol = normalize_symbol(symbol_text)
        row = session.exec(
            select(Position).where(Position.portfolio_id == portfolio.id, Position.symbol == symbol, Position.status == "open")
        ).first()
        if row is None:
            raise NotFound(f"No open {symbol} position in portfolio {portfolio.name!r}.")
        return row
    symbol = normalize_symbol(ref)
    rows = session.exec(
        select(Position, Portfolio.name).join(Portfolio).where(Position.symbol == symbol, Position.status == "open")
    ).all()
    if not rows:
        raise NotFound(f"No open position for {symbol}; see `vb positions list`.")
    if len(rows) > 1:
        names = ", ".join(f"{name}/{pos.symbol} ({pos.id})" for pos, name in rows)
        raise Conflict(f"{symbol} is open in several portfolios: {names}; use PORTFOLIO/SYMBOL or the id.")
    return rows[0][0]


def order(session: Session, ref: str) -> Order:
    return by_id(session, Order, ref, kind="order")


def trade(session: Session, ref: str) -> Trade:
    return by_id(session, Trade, ref, kind="trade")


def dividend(session: Session, ref: str) -> Dividend:
    return by_id(session, Dividend, ref, kind="dividend")




def currency_of(session: Session, position: Position) -> str:
    """The currency of the position's portfolio (money is rounded to its minor unit)."""
    owner = session.get(Portfolio, position.portfolio_id)
    return owner.currency if owner else DEFAULT_CURRENCY


def open_position(session: Session, ref: str) -> Position:
    """A position to change: it must be open."""
    row = position(session, ref)
    if row.status != "open":
        raise Refused(f"Position {row.id} ({row.symbol}) is closed; nothing can change it.")
    return row
