"""Fills: executing orders, recording past fills, voiding, listing (SPEC §3, §8.1)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli import faults
from vbcli.domain.accounting import default_commission
from vbcli.domain.facts import LotPick
from vbcli.domain.ids import new_id
from vbcli.domain.numbers import fmt, round_avg_cost
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, Refused
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.ledger import timeline
from vbcli.services.ledger.fills import Typed, check_time, new_fill, resolve_picks, trade_row
from vbcli.services.ledger.orders import create_order
from vbcli.services.shared.builders import fill_events
from vbcli.services.shared.views import trade_view
from vbcli.store.tables import Order, Position, Trade


def fill(
    session: Session,
    *,
    ref: str,
    price: Decimal,
    qty: Decimal | None = None,
    commission: Decimal | None = None,
    at: datetime | None = None,
    key: str | None = None,
    lots: Typed | None = None,
) -> dict[str, Any]:
    """Execute (part of) an open order at `price`: a trade, the accounting, the new anchor; a sell may name its lots."""
    order = refs.order(session, ref)
    if order.status not in refs.LIVE_STATUSES:
        raise Conflict(f"Order {order.id} is already {order.status}; only open or partially filled orders can be filled.")
    position = refs.open_position(session, order.position_id)
    remaining = order.qty - order.filled_qty
    qty = remaining if qty is None else qty
    if qty > remaining:
        raise Conflict(f"Order {order.id} has only {fmt(remaining)} left to fill, not {fmt(qty)}; give --qty {fmt(remaining)} or less.")
    if order.limit_price is not None:
        if order.side == "buy" and price > order.limit_price:
            raise Refused(f"Fill price {fmt(price)} is above the buy limit {fmt(order.limit_price)}.")
        if order.side == "sell" and price < order.limit_price:
            raise Refused(f"Fill price {fmt(price)} is below the sell limit {fmt(order.limit_price)}.")
    picks = resolve_picks(lambda ref: refs.trade(session, ref), order.side, lots)
    return execute(session, order=order, position=position, qty=qty, price=price, commission=commission, at=at, key=key,
                   check_order_time=True, lots=picks)


def execute(
    session: Session,
    *,
    order: Order,
    position: Position,
    qty: Decimal,
    price: Decimal,
    commission: Decimal | None,
    at: datetime | None,
    key: str | None,
    check_order_time: bool = False,
    lots: tuple[LotPick, ...] = (),
) -> dict[str, Any]:
    """One fill, shared by `orders fill`, `trades add` and evaluate: a fact on the timeline, re-derived."""
    now = utcnow()
    at = at or now
    check_time(position, at, now, order_created=order.created_at if check_order_time else None)
    if commission is None:
        commission = default_commission(qty * price, order.commission_rate, refs.currency_of(session, position))
    fill = new_fill(order.id, new_id("trade"), order.side, qty, price, commission, at, key, lots)
    result = timeline.rederive(session, position, at, extra=[fill.fact], cause="fill")
    outcome = result.replay.fills[fill.fact.trade_id]
    trade = Trade(**trade_row(fill, position, outcome, now))
    session.add(trade)
    session.flush()
    faults.point("after_trade_row")
    _refill(order, [(t.qty, t.price) for t in _order_fills(session, order.id)], now)
    position.updated_at = now
    session.add(position)
    session.flush()
    faults.point("after_position_update")
    view = trade_view(trade)
    qty_after, cash_after = result.after[trade.id]  # right after this fill on the timeline
    for spec in fill_events(symbol=position.symbol, trade=view, qty_after=qty_after, cash_after=cash_after):
        record_event(session, **spec)
    return view


def _order_fills(session: Session, order_id: str) -> list[Trade]:
    return list(session.exec(select(Trade).where(Trade.order_id == order_id, Trade.status == "executed")).all())


def _refill(order: Order, fills: list[tuple[Decimal, Decimal]], now: datetime) -> None:
    """filled_qty, avg_fill_price and the status from the order's executed fills."""
    order.filled_qty = sum((q for q, _ in fills), Decimal(0))
    order.avg_fill_price = round_avg_cost(sum((q * p for q, p in fills), Decimal(0)) / order.filled_qty) if order.filled_qty else None
    if order.status != "cancelled":
        order.status = "filled" if order.filled_qty == order.qty else "partially_filled" if order.filled_qty else "open"
    order.updated_at = now


def add(
    session: Session,
    *,
    ref: str,
    side: str,
    qty: Decimal,
    price: Decimal,
    commission: Decimal | None = None,
    at: datetime | None = None,
    key: str | None = None,
    source: str = "trade",
    lots: Typed | None = None,
) -> dict[str, Any]:
    """Record a fill that already happened: its order and trade in one step (no guardrails); a sell may name its lots."""
    position = refs.open_position(session, ref)
    picks = resolve_picks(lambda lot: refs.trade(session, lot), side, lots)
    order = create_order(session, position=position, side=side, qty=qty, limit=None, note="", key=key, source=source)
    return execute(session, order=order, position=position, qty=qty, price=price, commission=commission, at=at, key=key,
                   lots=picks)


def void(session: Session, *, ref: str, reason: str) -> dict[str, Any]:
    """Remove a trade from the timeline (kept with status `voided`): everything after it is re-derived, the anchor too."""
    reason = refs.check_text(reason, what="The reason")  # bad input (2) before lookups (3)
    trade = refs.trade(session, ref)
    if trade.status == "voided":
        raise Conflict(f"Trade {trade.id} is already voided.")
    position = refs.open_position(session, trade.position_id)
    now = utcnow()
    trade.status = "voided"
    trade.void_reason = reason
    trade.voided_at = now
    session.add(trade)
    session.flush()
    timeline.rederive(session, position, trade.executed_at, cause="void", always_report=True)
    position.updated_at = now
    session.add(position)
    order = session.get(Order, trade.order_id)
    assert order is not None
    _unfill(session, order, now)
    view = trade_view(trade)
    record_event(session, "trade_voided", f"trade {trade.id} voided: {reason}", position_id=position.id,
                 order_id=order.id, trade_id=trade.id, data={"trade": view, "reason": reason, "qty_after": position.qty, "cash_after": position.cash})
    return view


def _unfill(session: Session, order: Order, now: datetime) -> None:
    """The order follows its remaining fills: a placed order is live again; a recorded fill's order is cancelled."""
    was = order.status
    _refill(order, [(t.qty, t.price) for t in _order_fills(session, order.id)], now)
    session.add(order)
    if order.status == "open" and order.source not in ("place", "evaluate"):
        order.status = "cancelled"  # it existed only to carry the voided fill; it must not block the rule as "open"
    if order.status == "cancelled" and was != "cancelled":
        record_event(session, "order_cancelled", f"order {order.id} cancelled: its only fill was voided",
                     position_id=order.position_id, order_id=order.id, data={"filled_qty": order.filled_qty, "cause": "void"})


def show(session: Session, *, ref: str) -> dict[str, Any]:
    return trade_view(refs.trade(session, ref))


def list_trades(
    session: Session,
    *,
    ref: str | None = None,
    order: str | None = None,
    portfolio: str | None = None,
    side: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Trades newest first, filtered; `--since`/`--until` are inclusive."""
    query = select(Trade)
    if ref:
        query = query.where(Trade.position_id == refs.position(session, ref).id)
    if order:
        query = query.where(Trade.order_id == refs.order(session, order).id)
    if portfolio:
        owner = refs.portfolio_by_name(session, portfolio)
        query = query.where(Trade.position_id.in_(select(Position.id).where(Position.portfolio_id == owner.id)))  # type: ignore[attr-defined]
    if side:
        query = query.where(Trade.side == side)
    if since:
        query = query.where(Trade.executed_at >= since)
    if until:
        query = query.where(Trade.executed_at <= until)
    query = query.order_by(Trade.executed_at.desc(), Trade.id.desc())  # type: ignore[attr-defined]
    if limit:
        query = query.limit(limit)
    return [trade_view(row) for row in session.exec(query).all()]
