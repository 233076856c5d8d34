"""Positions: one stock and its own cash, with an order policy and guardrails."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.facts import AnchorSet, Deposit, Withdrawal, iso
from vbcli.domain.ids import new_id, record_seq
from vbcli.domain.numbers import CONTEXT, ZERO, fmt, normalize, round_ratio
from vbcli.domain.policy import Guardrails, OrderPolicy, settings_with
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, Refused, UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.ledger import timeline
from vbcli.services.ledger.fills import FUTURE_SLACK
from vbcli.store.history import opened_at
from vbcli.services.ledger.portfolios import get_for_write
from vbcli.services.ledger.prices import Quote, price_at, prices_at, quote_fields
from vbcli.services.shared.views import guardrails_of, policy_of, position_view
from vbcli.store.tables import AnchorReset, CashFlow, Order, Portfolio, Position


def add(
    session: Session,
    *,
    symbol: str,
    qty: Decimal,
    cash: Decimal,
    anchor: Decimal | None = None,
    avg_cost: Decimal | None = None,
    portfolio: str | None = None,
    settings: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Open a position at `at` (default now): its shares form one lot at --avg-cost, else the anchor."""
    symbol = refs.normalize_symbol(symbol)
    policy, guardrails = settings_with(OrderPolicy(), Guardrails(), settings or {})
    owner = get_for_write(session, portfolio)
    clash = session.exec(
        select(Position).where(Position.portfolio_id == owner.id, Position.symbol == symbol, Position.status == "open")
    ).first()
    if clash is not None:
        raise Conflict(f"Portfolio {owner.name!r} already has an open {symbol} position ({clash.id}).")
    cost = avg_cost if avg_cost is not None else anchor
    if qty > 0 and cost is None:
        raise UsageError("A position opened with shares needs --anchor or --avg-cost as the cost of those shares.")
    now = utcnow()
    opened = at or now
    if opened > now + FUTURE_SLACK:
        raise UsageError(f"The opening time {iso(opened)} is in the future; give when the position was opened.")
    row = Position(
        id=new_id("position"),
        portfolio_id=owner.id,
        symbol=symbol,
        qty=qty,
        cash=cash,
        anchor=anchor,
        avg_cost=cost if qty > 0 else None,
        cost_basis=qty * cost if qty > 0 and cost is not None else ZERO,
        opening_qty=qty,
        opening_cash=cash,
        opening_avg_cost=cost if qty > 0 else None,
        opening_anchor=anchor,
        opened_at=opened,
        created_at=now,
        updated_at=now,
        **policy.to_dict(),
        **guardrails.to_dict(),
    )
    session.add(row)
    session.flush()
    view = position_view(row, owner.name)
    record_event(session, "position_created", f"{owner.name}/{symbol} opened with {fmt(qty)} shares and {fmt(cash)} cash",
                 position_id=row.id, data=view)
    return view


def _portfolio_name(session: Session, row: Position) -> str:
    owner = session.get(Portfolio, row.portfolio_id)
    return owner.name if owner else ""


def list_all(session: Session, *, portfolio: str | None = None, status: str | None = "open", symbol: str | None = None) -> list[dict[str, Any]]:
    query = select(Position, Portfolio.name).join(Portfolio)
    if portfolio:
        query = query.where(Portfolio.name == refs.portfolio_by_name(session, portfolio).name)
    if status and status != "all":
        query = query.where(Position.status == status)
    if symbol:
        query = query.where(Position.symbol == refs.normalize_symbol(symbol))
    rows = session.exec(query.order_by(Portfolio.name, Position.symbol, Position.id)).all()
    quotes = prices_at(session, (row.symbol for row, _ in rows))
    return [{**position_view(row, name), **_valued(row, quotes.get(row.symbol))} for row, name in rows]


def show(session: Session, *, ref: str, price: Decimal | None = None) -> dict[str, Any]:
    """A position; valued at `price`, else at its symbol's latest stored price or fill (`price_at`), if any."""
    row = refs.position(session, ref)
    view = position_view(row, _portfolio_name(session, row))
    if price is not None:
        view.update(valuation(row, price))
    elif (quote := price_at(session, row.symbol)) is not None:
        view.update(valuation(row, quote.price), **quote_fields(quote))
    return view


VALUED_FIELDS = ("price", "price_at", "price_source", "stock_value", "total_value", "stock_alloc", "unrealized_pnl")


def _valued(row: Position, quote: Quote | None) -> dict[str, Any]:
    """The SPEC §7 valuation fields at a stored price (all null without one) and where it came from."""
    figures = valuation(row, quote.price) if quote is not None else {}
    return {**{name: figures.get(name) for name in VALUED_FIELDS}, **quote_fields(quote)}


def valuation(row: Position, price: Decimal) -> dict[str, Any]:
    """Value at `price`, allocation, unrealized P&L and the prices where the rule acts next."""
    stock_value = CONTEXT.multiply(row.qty, price)
    total = stock_value + row.cash + row.dividend_receivable
    unrealized = (price - row.avg_cost) * row.qty if row.avg_cost is not None else ZERO
    sell_at = buy_at = None
    if row.anchor is not None:
        sell_at = row.anchor * (1 + row.trigger_up)
        buy_at = row.anchor * (1 - row.trigger_down)

    def plain(value: Decimal | None) -> Decimal | None:
        return None if value is None else normalize(value)  # 16575.0 → 16575: computed, not typed

    return {
        "price": price,
        "stock_value": plain(stock_value),
        "total_value": plain(total),
        "stock_alloc": round_ratio(stock_value / total, 6) if total else None,
        "unrealized_pnl": plain(unrealized),
        "sell_trigger_price": plain(sell_at),
        "buy_trigger_price": plain(buy_at),
        "change": round_ratio((price - row.anchor) / row.anchor, 6) if row.anchor else None,
    }


def _said(value: Any) -> str:
    """A setting as the message shows it: exact decimals, true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return fmt(value)
    return "none" if value is None else str(value)


def update(session: Session, *, ref: str, anchor: Decimal | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    row = refs.open_position(session, ref)
    name = _portfolio_name(session, row)
    before = position_view(row, name)
    policy, guardrails = settings_with(policy_of(row), guardrails_of(row), settings or {})
    for field, value in {**policy.to_dict(), **guardrails.to_dict()}.items():
        setattr(row, field, value)
    if anchor is not None and anchor != row.anchor:
        set_anchor(session, row, anchor)
    old, new = _settings(before), _settings(position_view(row, name))
    changed = {k: {"old": old[k], "new": new[k]} for k in new if old[k] != new[k] or str(old[k]) != str(new[k])}
    if not changed:
        return before  # nothing differs: nothing to record
    row.updated_at = utcnow()
    session.add(row)
    if "anchor" in changed:
        record_event(session, "anchor_updated", f"{row.symbol} anchor set to {fmt(anchor)}", position_id=row.id,
                     data={"old": before["anchor"], "new": anchor, "cause": "set"})
    said = ", ".join(f"{name} {_said(change['old'])} → {_said(change['new'])}" for name, change in changed.items())
    record_event(session, "position_updated", f"{row.symbol} changed: {said}", position_id=row.id,
                 data={"changes": changed})
    return position_view(row, name)


def set_anchor(session: Session, row: Position, price: Decimal, cause: str = "set") -> None:
    """An anchor set by hand: a fact at its record time (SPEC §8.1), replayed like any other."""
    now = utcnow()
    fact = AnchorSet(price=price, at=now, seq=record_seq(anchor_id := new_id("anchor")))
    timeline.rederive(session, row, now, extra=[fact], cause="anchor")
    session.add(AnchorReset(id=anchor_id, position_id=row.id, price=price, at=now, cause=cause))


def _settings(view: dict[str, Any]) -> dict[str, Any]:
    """The anchor, policy and guardrails of a position view as one flat field → value dict."""
    return {"anchor": view["anchor"], **view["order_policy"], **view["guardrails"]}


def move_cash(session: Session, *, ref: str, amount: Decimal, deposit: bool, at: datetime | None = None) -> dict[str, Any]:
    """Deposit or withdraw at `at` (default now); a withdrawal may not leave cash negative at any time after it."""
    row = refs.open_position(session, ref)
    now = utcnow()
    when = at or now
    if when > now + FUTURE_SLACK or when < opened_at(row):
        raise UsageError(f"The time {iso(when)} is {'in the future' if when > now else 'before the position was opened'}; "
                         f"give a time from {iso(opened_at(row))} to now.")
    if not deposit and at is None and amount > row.cash:
        raise Refused(f"Cannot withdraw {fmt(amount)}: the {row.symbol} position has {fmt(row.cash)} cash.")
    flow_id = new_id("cash_flow")
    seq = record_seq(flow_id)
    fact = Deposit(amount=amount, at=when, seq=seq) if deposit else Withdrawal(amount=amount, at=when, seq=seq)
    timeline.rederive(session, row, when, extra=[fact], cause="deposit" if deposit else "withdrawal")
    row.updated_at = now
    session.add(row)
    signed = amount if deposit else -amount
    flow = CashFlow(id=flow_id, position_id=row.id, kind="deposit" if deposit else "withdrawal", amount=signed, ts=when)
    session.add(flow)
    kind = "cash_deposited" if deposit else "cash_withdrawn"
    record_event(session, kind, f"{fmt(amount)} {'deposited to' if deposit else 'withdrawn from'} {row.symbol}",
                 position_id=row.id, data={"amount": amount, "cash_after": row.cash, "cash_flow_id": flow.id, "at": when}, ts=now)
    return position_view(row, _portfolio_name(session, row))


def close(session: Session, *, ref: str) -> dict[str, Any]:
    row = refs.open_position(session, ref)
    live = session.exec(select(Order).where(Order.position_id == row.id, Order.status.in_(refs.LIVE_STATUSES))).first()  # type: ignore[attr-defined]
    if live is not None:
        raise Conflict(f"Position {row.symbol} has the open order {live.id}; cancel or fill it before closing.")
    now = utcnow()
    row.status = "closed"
    row.closed_at = now
    row.updated_at = now
    session.add(row)
    view = position_view(row, _portfolio_name(session, row))
    record_event(session, "position_closed", f"{row.symbol} closed with {fmt(row.qty)} shares and {fmt(row.cash)} cash",
                 position_id=row.id, data={"qty": row.qty, "cash": row.cash})
    return view
