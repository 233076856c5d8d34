"""Orders: placing (with the daily cap and guardrails), cancelling, listing."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from vbcli.domain.ids import new_id
from vbcli.domain.numbers import fmt
from vbcli.domain.rule import OrderContext, check_manual_order
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, Refused
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.shared.builders import order_placed, order_row
from vbcli.services.shared.views import guardrails_of, order_view, policy_of, state_of
from vbcli.store.tables import Order, Position



def orders_placed_today(session: Session, position_id: str, now: datetime | None = None) -> int:
    """Orders placed on the position today (UTC, by record time), cancelled ones not counted.

    Bounded on both sides: an order stamped tomorrow by a clock that ran ahead is not today's.
    """
    start = datetime.combine((now or utcnow()).date(), time(), timezone.utc)
    return session.exec(
        select(func.count()).select_from(Order).where(
            Order.position_id == position_id,
            Order.created_at >= start,
            Order.created_at < start + timedelta(days=1),
            Order.status != "cancelled",
            Order.source.in_(("place", "evaluate")),  # type: ignore[attr-defined]
        )
    ).one()


def has_live_order(session: Session, position_id: str) -> bool:
    return session.exec(
        select(Order.id).where(Order.position_id == position_id, Order.status.in_(refs.LIVE_STATUSES)).limit(1)  # type: ignore[attr-defined]
    ).first() is not None


def order_context(session: Session, position: Position) -> OrderContext:
    return OrderContext(
        has_open_order=has_live_order(session, position.id),
        orders_today=orders_placed_today(session, position.id),
        currency=refs.currency_of(session, position),
    )


def place(
    session: Session,
    *,
    ref: str,
    side: str,
    qty: Decimal,
    limit: Decimal | None = None,
    note: str = "",
    force: bool = False,
    key: str | None = None,
) -> dict[str, Any]:
    """Place an order; the daily cap and guardrails apply (at the limit, else the anchor) unless forced."""
    note = refs.check_text(note, what="The note")  # bad input (2) before lookups (3)
    position = refs.open_position(session, ref)
    context = order_context(session, position)
    price = limit if limit is not None else position.anchor
    refusal = _refusal(position, side, qty, price, context)
    if refusal and not force:
        record_event(session, "order_rejected", f"{side} {fmt(qty)} {position.symbol} refused: {refusal}",
                     position_id=position.id, data={"side": side, "qty": qty, "limit": limit, "reason": refusal})
        raise Refused(f"Order refused: {refusal.rstrip('.')}; use --force to override.", commit=True)
    order = create_order(session, position=position, side=side, qty=qty, limit=limit, note=note, key=key,
                         source="place", forced=bool(refusal and force), overridden=refusal)
    return order_view(order, position.symbol)


def _refusal(position: Position, side: str, qty: Decimal, price: Decimal | None, context: OrderContext) -> str | None:
    guardrails = guardrails_of(position)
    if price is None:  # no anchor and no limit: only the daily cap can be checked
        if context.orders_today >= guardrails.max_orders_per_day:
            return f"the daily cap of {guardrails.max_orders_per_day} orders is reached"
        return None
    return check_manual_order(state_of(position), side, qty, price, policy_of(position), guardrails, context)


def create_order(
    session: Session,
    *,
    position: Position,
    side: str,
    qty: Decimal,
    limit: Decimal | None,
    note: str,
    key: str | None,
    source: str,
    forced: bool = False,
    overridden: str | None = None,
    now: datetime | None = None,
) -> Order:
    """A new open order and its order_placed event; the row, for the caller to fill or show."""
    now = now or utcnow()
    order = Order(**order_row(order_id=new_id("order"), position_id=position.id, side=side, qty=qty, limit=limit,
                              commission_rate=position.commission_rate, key=key, note=note, forced=forced, source=source, now=now))
    session.add(order)
    session.flush()
    record_event(session, **order_placed(symbol=position.symbol, position_id=position.id, order_id=order.id, side=side, qty=qty,
                                         limit=limit, source=source, forced=forced, overridden=overridden, ts=now))
    return order


def cancel(session: Session, *, ref: str) -> dict[str, Any]:
    order = refs.order(session, ref)
    if order.status not in refs.LIVE_STATUSES:
        raise Conflict(f"Order {order.id} is {order.status}; only open or partially filled orders can be cancelled.")
    position = session.get(Position, order.position_id)
    assert position is not None
    order.status = "cancelled"
    order.updated_at = utcnow()
    session.add(order)
    record_event(session, "order_cancelled", f"order {order.id} cancelled after {fmt(order.filled_qty)} filled",
                 position_id=order.position_id, order_id=order.id, data={"filled_qty": order.filled_qty})
    return order_view(order, position.symbol)


def show(session: Session, *, ref: str) -> dict[str, Any]:
    order = refs.order(session, ref)
    position = session.get(Position, order.position_id)
    return order_view(order, position.symbol if position else "")


def list_orders(session: Session, *, ref: str | None = None, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    query = select(Order, Position.symbol).join(Position)
    if ref:
        query = query.where(Order.position_id == refs.position(session, ref).id)
    if status:
        query = query.where(Order.status == status)
    query = query.order_by(Order.created_at.desc(), Order.id.desc())  # type: ignore[attr-defined]
    if limit:
        query = query.limit(limit)
    return [order_view(order, symbol) for order, symbol in session.exec(query).all()]
