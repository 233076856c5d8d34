"""Open lots and realized gains (SPEC §8.3): both are outputs of a position's replay.

`open_lots` replays one position up to a time and values its lots at a price (given, else the
stored price or fill `price_at` gives); `gains` lists every (sell, lot) pair the replays close,
with totals per holding term. Nothing is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli.domain import timeline as tl
from vbcli.domain.lots import holding_term
from vbcli.domain.numbers import CONTEXT, ZERO, normalize
from vbcli.services.ledger.prices import price_at, quote_fields
from vbcli.services.ledger.timeline import settings_of
from vbcli.services.shared import refs
from vbcli.store.history import load_history
from vbcli.store.tables import Position

LOT_FIELDS = ["lot_trade_id", "symbol", "acquired_at", "qty", "cost_per_share", "cost", "price", "unrealized_pnl",
              "position_id", "price_at", "price_source"]
GAIN_FIELDS = ["sell_trade_id", "lot_trade_id", "symbol", "acquired_at", "sold_at", "qty", "proceeds", "cost", "gain", "term",
               "position_id", "currency"]
TERMS = ("short", "long")
TOTAL = "total"  # the term of the grand total row


def _replay(session: Session, position: Position, until: datetime | None = None) -> tl.Replay:
    method, currency = settings_of(session, position)
    history = load_history(session.connection(), position, None)
    return tl.replay(history.facts, method=method, currency=currency, until=until)


def open_lots(session: Session, *, ref: str, at: datetime | None = None, price: Decimal | None = None) -> list[dict[str, Any]]:
    """The open lots of a position at `at` (inclusive; default now), oldest first, valued at a price when one is known."""
    position = refs.position(session, ref)
    replay = _replay(session, position, None if at is None else at + timedelta(microseconds=1))
    quote = None if price is not None else price_at(session, position.symbol, at)
    value = price if price is not None else (quote.price if quote is not None else None)
    rows = []
    for lot in replay.state.book.open_lots():
        unrealized = None if value is None else normalize(CONTEXT.multiply(lot.qty, value) - lot.cost)
        rows.append({"lot_trade_id": lot.lot_id, "symbol": position.symbol, "acquired_at": lot.acquired_at, "qty": lot.qty,
                     "cost_per_share": lot.cost_per_share, "cost": lot.cost, "price": value, "unrealized_pnl": unrealized,
                     "position_id": position.id, **quote_fields(quote)})
    return rows


def gains(session: Session, *, ref: str | None = None, portfolio: str | None = None, since: datetime | None = None,
          until: datetime | None = None) -> list[dict[str, Any]]:
    """One row per (sell, lot) pair sold in [since, until], by sale time; then, per currency, a total row per term
    and a grand total. A total row has no trade ids; its `term` is `short`, `long` or `total`.
    """
    if ref is not None:
        positions = [refs.position(session, ref)]
    else:
        query = select(Position).order_by(Position.id)
        if portfolio is not None:
            query = query.where(Position.portfolio_id == refs.portfolio_by_name(session, portfolio).id)
        positions = list(session.exec(query).all())
    rows = []
    for position in positions:
        currency = refs.currency_of(session, position)
        for piece in _replay(session, position).gains:
            if (since is None or piece.sold_at >= since) and (until is None or piece.sold_at <= until):
                rows.append(_gain_row(position, piece, currency))
    rows.sort(key=lambda row: (row["sold_at"], row["sell_trade_id"]))  # stable: a sell's pieces keep their order
    totals = []
    for currency in sorted({row["currency"] for row in rows}):  # money of two currencies is never added
        totals += _totals([row for row in rows if row["currency"] == currency], currency)
    return rows + totals


def _gain_row(position: Position, piece: tl.ClosedPiece, currency: str) -> dict[str, Any]:
    return {"sell_trade_id": piece.sell_trade_id, "lot_trade_id": piece.lot_id, "symbol": position.symbol,
            "acquired_at": piece.acquired_at, "sold_at": piece.sold_at, "qty": piece.qty, "proceeds": piece.proceeds,
            "cost": piece.cost, "gain": piece.gain, "term": holding_term(piece.acquired_at, piece.sold_at),
            "position_id": position.id, "currency": currency}


def _totals(rows: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """Σ qty, proceeds, cost and gain per term present, then over both terms."""
    groups = [(term, [row for row in rows if row["term"] == term]) for term in TERMS]
    return [_total(term, chosen, currency) for term, chosen in groups if chosen] + [_total(TOTAL, rows, currency)]


def _total(term: str, rows: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    sums = {name: normalize(sum((row[name] for row in rows), ZERO)) for name in ("qty", "proceeds", "cost", "gain")}
    return {"sell_trade_id": None, "lot_trade_id": None, "symbol": None, "acquired_at": None, "sold_at": None, **sums,
            "term": term, "position_id": None, "currency": currency}
