"""Fills: executing orders, recording past fills, voiding, listing (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli import faults
from vbcli.domain.accounting import Holdings, apply_fill, default_commission, replay_avg_cost, reverse_fill
from vbcli.domain.ids import new_id
from vbcli.domain.numbers import fmt, round_avg_cost
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, Refused
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.shared.builders import fill_events, trade_row
from vbcli.services.ledger.orders import create_order
from vbcli.services.shared.views import trade_view
from vbcli.store.tables import Order, Position, Trade


def _holdings(position: Position) -> Holdings:
    return Holdings(position.qty, position.cash, position.avg_cost, position.realized_pnl, position.total_commission)


def _store_holdings(position: Position, holdings: Holdings) -> None:
    position.qty = holdings.qty
    position.cash = holdings.cash
    position.avg_cost = holdings.avg_cost
    position.realized_pnl = holdings.realized_pnl
    position.total_commission = holdings.total_commission


def fill(
    session: Session,
    *,
    ref: str,
    price: Decimal,
    qty: Decimal | None = None,
    commission: Decimal | None = None,
    at: datetime | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Execute (part of) an open order at `price`: a trade, the accounting, the new anchor."""
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
    return execute(session, order=order, position=position, qty=qty, price=price, commission=commission, at=at, key=key)


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
) -> dict[str, Any]:
    """The accounting of one fill, shared by `orders fill`, `trades add`, evaluate and import."""
    now = utcnow()
    if commission is None:
        commission = default_commission(qty * price, order.commission_rate, refs.currency_of(session, position))
    result = apply_fill(_holdings(position), order.side, qty, price, commission, position.symbol)
    anchor_before = position.anchor
    trade = Trade(**trade_row(trade_id=new_id("trade"), order_id=order.id, position_id=position.id, symbol=position.symbol,
                              side=order.side, qty=qty, price=price, commission=commission, notional=result.notional,
                              realized_pnl=result.realized_pnl, anchor_before=anchor_before, executed_at=at or now, key=key, now=now))
    session.add(trade)
    session.flush()
    faults.point("after_trade_row")
    previous_value = (order.avg_fill_price or 0) * order.filled_qty
    order.filled_qty = order.filled_qty + qty
    order.avg_fill_price = round_avg_cost((previous_value + result.notional) / order.filled_qty)
    order.status = "filled" if order.filled_qty == order.qty else "partially_filled"
    order.updated_at = now
    session.add(order)
    _store_holdings(position, result.holdings)
    position.anchor = price
    position.updated_at = now
    session.add(position)
    session.flush()
    faults.point("after_position_update")
    view = trade_view(trade)
    for spec in fill_events(symbol=position.symbol, trade=view, qty_after=position.qty, cash_after=position.cash):
        record_event(session, **spec)
    return view


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
) -> dict[str, Any]:
    """Record a fill that already happened: its order and trade in one step (no guardrails)."""
    position = refs.open_position(session, ref)
    order = create_order(session, position=position, side=side, qty=qty, limit=None, note="", key=key, source=source)
    return execute(session, order=order, position=position, qty=qty, price=price, commission=commission, at=at, key=key)


def void(session: Session, *, ref: str, reason: str) -> dict[str, Any]:
    """Reverse a trade's effects and keep it with status `voided`; the anchor stays."""
    reason = refs.check_text(reason, what="The reason")  # bad input (2) before lookups (3)
    trade = refs.trade(session, ref)
    if trade.status == "voided":
        raise Conflict(f"Trade {trade.id} is already voided.")
    position = refs.open_position(session, trade.position_id)
    holdings = reverse_fill(_holdings(position), trade.side, trade.qty, trade.price, trade.commission, trade.realized_pnl)
    now = utcnow()
    trade.status = "voided"
    trade.void_reason = reason
    trade.voided_at = now
    session.add(trade)
    session.flush()
    fills = session.exec(
        select(Trade.side, Trade.qty, Trade.price).where(Trade.position_id == position.id, Trade.status == "executed")
        .order_by(Trade.executed_at, Trade.id)  # type: ignore[arg-type]
    ).all()
    holdings = Holdings(holdings.qty, holdings.cash, replay_avg_cost(position.opening_qty, position.opening_avg_cost, fills),
                        holdings.realized_pnl, holdings.total_commission)
    _store_holdings(position, holdings)
    position.updated_at = now
    session.add(position)
    order = session.get(Order, trade.order_id)
    assert order is not None
    _unfill(session, order, trade, now)
    view = trade_view(trade)
    record_event(session, "trade_voided", f"trade {trade.id} voided: {reason}", position_id=position.id,
                 order_id=order.id, trade_id=trade.id, data={"trade": view, "reason": reason, "qty_after": position.qty, "cash_after": position.cash})
    return view


def _unfill(session: Session, order: Order, trade: Trade, now: datetime) -> None:
    remaining = session.exec(
        select(Trade.qty, Trade.price).where(Trade.order_id == order.id, Trade.status == "executed")
    ).all()
    order.filled_qty = sum((q for q, _ in remaining), Decimal(0))
    order.avg_fill_price = (
        round_avg_cost(sum((q * p for q, p in remaining), Decimal(0)) / order.filled_qty) if order.filled_qty else None
    )
    if order.filled_qty == 0:
        order.status = "cancelled"  # nothing of it stands; it must not block the rule as "open"
    elif order.status == "filled":
        order.status = "partially_filled"
    order.updated_at = now
    session.add(order)


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
