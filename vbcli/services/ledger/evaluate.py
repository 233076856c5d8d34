"""`vb evaluate`: the rule's proposal for a position at a price, optionally placed and filled.

The rule (domain/rule.evaluate) already applies the caps, guardrails, minimums, the open
order and the daily cap, so a proposed order is placed without a second check.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.numbers import fmt
from vbcli.domain.rule import ANCHOR_RESET, BUY, SELL, Evaluation, evaluate
from vbcli.domain.timeparse import utcnow
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.ledger.orders import create_order, order_context
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


def _view(position: Position, portfolio: str, ev: Evaluation | None) -> dict[str, Any]:
    working = ev.to_dict() if ev is not None else {}
    view = {key: working.get(key) for key in (*SPEC_KEYS, *EXTRA_KEYS)}
    view.update(position_id=position.id, symbol=position.symbol, portfolio=portfolio)
    if ev is None:
        view.update(action="HOLD", reason=NO_PRICE, anchor=position.anchor)
    return view


def _portfolio_name(session: Session, position: Position) -> str:
    owner = session.get(Portfolio, position.portfolio_id)
    return owner.name if owner else ""


def _decide(session: Session, position: Position, price: Decimal) -> dict[str, Any]:
    ev = evaluate(state_of(position), price, policy_of(position), guardrails_of(position), order_context(session, position))
    return _view(position, _portfolio_name(session, position), ev)


def evaluate_one(session: Session, *, ref: str, price: Decimal) -> dict[str, Any]:
    """What the rule proposes for one open position at `price` (writes nothing)."""
    return _decide(session, refs.open_position(session, ref), price)


def place_one(session: Session, *, ref: str, price: Decimal, fill: bool = False, key: str | None = None) -> dict[str, Any]:
    """Evaluate, then act on it: place (and fill) the order, or reset the anchor; log the evaluation."""
    return _act(session, refs.open_position(session, ref), price, fill=fill, key=key)


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


def evaluate_all(session: Session, *, prices: dict[str, Decimal], place: bool = False, fill: bool = False) -> list[dict[str, Any]]:
    """Every open position whose symbol has a price; the others are listed as HOLD "no price".

    With `place`, every proposal is placed (and filled) in the caller's one transaction.
    """
    results = []
    for position in _open_positions(session):
        price = prices.get(position.symbol)
        if price is None:
            row = _view(position, _portfolio_name(session, position), None)
            if place:
                row["order"] = None
            if fill:
                row["trade"] = None
            results.append(row)
        elif place:
            results.append(_act(session, position, price, fill=fill, key=None))
        else:
            results.append(_decide(session, position, price))
    return results
