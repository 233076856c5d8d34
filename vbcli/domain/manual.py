"""`vb orders place`: a manual order checked against the daily cap and the guardrails."""

from __future__ import annotations

from decimal import Decimal, localcontext

from vbcli.domain.numbers import CONTEXT, fmt, normalize
from vbcli.domain.rule_values import OrderContext, PositionState, pct, pct2, post_trade_alloc, require_positive_price
from vbcli.domain.policy import Guardrails, OrderPolicy


def check_manual_order(
    state: PositionState,
    side: str,
    qty: Decimal,
    price: Decimal,
    policy: OrderPolicy,
    guardrails: Guardrails,
    context: OrderContext,
) -> str | None:
    """For `vb orders place`: the refusal reason (one plain sentence), or None when allowed.

    Checks the daily cap (when context.apply_daily_cap) and the guardrails at `price` (the
    limit price, else the anchor): post-trade allocation with commission and max_trade.
    Cash and shares are checked by the fill, not here.
    """
    require_positive_price(price)
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', not {side!r}")
    if qty <= 0:
        return f"The quantity must be greater than zero, not {fmt(qty)}."
    cap = guardrails.max_orders_per_day
    if context.apply_daily_cap and context.orders_today >= cap:
        return f"The daily order cap of {cap} orders for this position is reached ({context.orders_today} placed today)."
    with localcontext(CONTEXT):
        value = state.value(price)
        if value <= 0:
            return f"The position has no value at price {fmt(price)}, so its guardrails cannot be checked."
        refusal = _manual_alloc_refusal(state, side, qty, price, policy.commission_rate, guardrails)
        if refusal is not None:
            return refusal
        notional = qty * price
        if notional > guardrails.max_trade * value:
            return (
                f"The order's notional {fmt(normalize(notional))} is above max_trade {pct(guardrails.max_trade)} "
                f"of the position value {fmt(normalize(value))}."
            )
    return None


def _manual_alloc_refusal(
    state: PositionState, side: str, qty: Decimal, price: Decimal, rate: Decimal, g: Guardrails
) -> str | None:
    value_after = state.value(price) - qty * price * rate
    after = post_trade_alloc(state, side, qty, price, rate)
    shown = pct2(after) if after is not None else "an undefined value"
    if side == "buy" and (state.qty + qty) * price > g.max_stock_alloc * value_after:
        return (
            f"Buying {fmt(qty)} at {fmt(price)} would raise the stock allocation to {shown}, "
            f"above max_stock_alloc {pct(g.max_stock_alloc)}."
        )
    if side == "sell" and (state.qty - qty) * price < g.min_stock_alloc * value_after:
        return (
            f"Selling {fmt(qty)} at {fmt(price)} would lower the stock allocation to {shown}, "
            f"below min_stock_alloc {pct(g.min_stock_alloc)}."
        )
    return None
