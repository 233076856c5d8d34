"""`vb evaluate`: the rule's proposal for a position at a price, optionally placed and filled.

The rule (domain/rule.evaluate) already applies the caps, guardrails, minimums, the open
order and the daily cap, so a proposed order is placed without a second check.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.numbers import fmt
from vbcli.domain.rule import ANCHOR_RESET, BUY, SELL, Evaluation, evaluate
from vbcli.domain.timeparse import utcnow
from vbcli.errors import UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.ledger.orders import create_order, order_context
from vbcli.services.ledger.prices import Quote, price_at, prices_at, quote_fields
from vbcli.services.ledger.positions import set_anchor
from vbcli.services.ledger.trades import execute
from vbcli.services.shared import views
from vbcli.services.shared.views import guardrails_of, policy_of, state_of
from vbcli.store.tables import Portfolio, Position

# SPEC §7 evaluation keys first, then the rest of the working.
SPEC_KEYS = (
    "position_id", "action", "qty", "price", "notional", "commission", "reason", "change", "raw_qty",
    "stock_alloc_before", "stock_alloc_after", "anchor", "total_value",
)  # fmt: skip
EXTRA_KEYS = ("symbol", "portfolio", "side", "trigger_up", "trigger_down", "capped_qty", "trimmed_qty")
NO_PRICE = "no price"
STALE_PRICE = "stale price"
DEFAULT_MAX_AGE = timedelta(days=4)


def _view(position: Position, portfolio: str, ev: Evaluation | None, reason: str = NO_PRICE) -> dict[str, Any]:
    working = ev.to_dict() if ev is not None else {}
    view = {key: working.get(key) for key in (*SPEC_KEYS, *EXTRA_KEYS)}
    view.update(position_id=position.id, symbol=position.symbol, portfolio=portfolio)
    if ev is None:
        view.update(action="HOLD", reason=reason, anchor=position.anchor)
    return view


def _portfolio_name(session: Session, position: Position) -> str:
    owner = session.get(Portfolio, position.portfolio_id)
    return owner.name if owner else ""


def _decide(session: Session, position: Position, price: Decimal) -> dict[str, Any]:
    ev = evaluate(state_of(position), price, policy_of(position), guardrails_of(position), order_context(session, position))
    return _view(position, _portfolio_name(session, position), ev)


def _stored_quote(session: Session, position: Position) -> Quote:
    quote = price_at(session, position.symbol)
    if quote is None:
        raise UsageError(f"No price of {position.symbol} is stored; give --price, or store one with `vb prices add {position.symbol} PRICE`.")
    return quote


def _stale(position: Position, portfolio: str, quote: Quote, max_age: timedelta) -> dict[str, Any] | None:
    """HOLD "stale price" when the stored price is older than `max_age`, else None."""
    if quote.at >= utcnow() - max_age:
        return None
    return {**_view(position, portfolio, None, STALE_PRICE), "price": quote.price, **quote_fields(quote)}


def evaluate_one(session: Session, *, ref: str, price: Decimal | None = None, max_age: timedelta = DEFAULT_MAX_AGE) -> dict[str, Any]:
    """What the rule proposes for one open position at `price`, else at its stored price (writes nothing)."""
    position = refs.open_position(session, ref)
    if price is not None:
        return _decide(session, position, price)
    quote = _stored_quote(session, position)
    stale = _stale(position, _portfolio_name(session, position), quote, max_age)
    return stale or {**_decide(session, position, quote.price), **quote_fields(quote)}


def place_one(session: Session, *, ref: str, price: Decimal | None = None, fill: bool = False, key: str | None = None,
              max_age: timedelta = DEFAULT_MAX_AGE) -> dict[str, Any]:
    """Evaluate, then act on it: place (and fill) the order, or reset the anchor; log the evaluation."""
    position = refs.open_position(session, ref)
    if price is not None:
        return _act(session, position, price, fill=fill, key=key)
    quote = _stored_quote(session, position)
    stale = _stale(position, _portfolio_name(session, position), quote, max_age)
    if stale is not None:
        return {**stale, "order": None, **({"trade": None} if fill else {})}
    return {**_act(session, position, quote.price, fill=fill, key=key), **quote_fields(quote)}


def _act(session: Session, position: Position, price: Decimal, *, fill: bool, key: str | None) -> dict[str, Any]:
    view = _decide(session, position, price)
    order_view = trade_view = None
    if view["action"] in (BUY, SELL):
        order = create_order(session, position=position, side=view["side"], qty=view["qty"], limit=None,
                             note=f"vb evaluate at {fmt(price)}", key=key, source="evaluate")
        order_view = views.order_view(order, position.symbol)
    record_event(session, "evaluation", f"{position.symbol} at {fmt(price)}: {view['action']} {fmt(view['qty'])}",
                 position_id=position.id, order_id=order_view["id"] if order_view else None,
                 data={key_: value for key_, value in view.items() if key_ not in ("portfolio",)})
    if view["action"] == ANCHOR_RESET:
        _reset_anchor(session, position, price)
    if order_view is not None and fill:
        trade_view = execute(session, order=order, position=position, qty=order.qty, price=price, commission=None, at=None, key=key)
        order_view = views.order_view(order, position.symbol)
    view["order"] = order_view
    if fill:
        view["trade"] = trade_view
    return view


def _reset_anchor(session: Session, position: Position, price: Decimal) -> None:
    old = position.anchor
    set_anchor(session, position, price, cause="evaluate")
    position.updated_at = utcnow()
    session.add(position)
    record_event(session, "anchor_updated", f"{position.symbol} anchor {fmt(old)} → {fmt(price)} (reset)",
                 position_id=position.id, data={"old": old, "new": price, "cause": "reset"})


def _open_positions(session: Session) -> list[Position]:
    query = (select(Position).join(Portfolio).where(Position.status == "open")
             .order_by(Portfolio.name, Position.symbol, Position.id))  # type: ignore[arg-type]
    return list(session.exec(query).all())


def open_symbols(session: Session) -> set[str]:
    """The symbols of every open position (for the price file's symbols that match none)."""
    return {position.symbol for position in _open_positions(session)}


def evaluate_all(session: Session, *, prices: dict[str, Decimal] | None = None, place: bool = False, fill: bool = False,
                 max_age: timedelta = DEFAULT_MAX_AGE) -> list[dict[str, Any]]:
    """Every open position whose symbol has a price; the others are listed as HOLD "no price".

    Without `prices`, each symbol's latest stored price or fill is used, and one older than
    `max_age` is HOLD "stale price". With `place`, every proposal is placed (and filled) in the
    caller's one transaction.
    """
    positions = _open_positions(session)
    quotes = prices_at(session, (p.symbol for p in positions)) if prices is None else {}
    results = []
    for position in positions:
        quote = quotes.get(position.symbol)
        price = prices.get(position.symbol) if prices is not None else (quote.price if quote else None)
        stale = _stale(position, _portfolio_name(session, position), quote, max_age) if quote is not None else None
        if price is None or stale is not None:
            row = stale or _view(position, _portfolio_name(session, position), None)
            if place:
                row["order"] = None
            if fill:
                row["trade"] = None
        elif place:
            row = _act(session, position, price, fill=fill, key=None)
        else:
            row = _decide(session, position, price)
        results.append({**row, **quote_fields(quote)} if prices is None else row)
    return results
