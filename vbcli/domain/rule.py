"""The volatility-balancing rule (SPEC §4): one pure function over exact decimals.

`evaluate` is the only implementation of the rule; `vb evaluate`, `vb orders place`
(through `check_manual_order`) and `vb simulate` all call it. No database, no printing.
Threshold comparisons are cross-multiplied so that "exactly 3%" is decided without a
rounded quotient.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from vbcli.domain.numbers import (
    CONTEXT,
    ONE,
    PROPOSAL_DECIMALS,
    ZERO,
    floor_decimals,
    floor_to_step,
    fmt,
    normalize,
    round_money,
    round_ratio,
)
from vbcli.domain.policy import Guardrails, OrderPolicy
from vbcli.errors import UsageError

BUY, SELL, HOLD, REJECTED, ANCHOR_RESET = "BUY", "SELL", "HOLD", "REJECTED", "ANCHOR_RESET"
SHOWN_PLACES = 10  # reported quotients (allocations, change, raw sizes)
_FRACTIONAL_STEP = Decimal(1).scaleb(-PROPOSAL_DECIMALS)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class PositionState:
    """What the rule needs to know about a position."""

    qty: Decimal
    cash: Decimal
    receivable: Decimal = ZERO
    anchor: Decimal | None = None

    def value(self, price: Decimal) -> Decimal:
        """V = Q·P + C + R."""
        return self.qty * price + self.cash + self.receivable


@dataclass(frozen=True)
class OrderContext:
    """Facts about the position's orders that the rule cannot see in the state."""

    has_open_order: bool = False
    orders_today: int = 0  # placed today, cancelled ones not counted
    apply_daily_cap: bool = True  # simulate passes False
    currency: str = "USD"
    # simulate passes False: the same decision, without the working (allocations, raw sizes)
    # and the hold reasons that nobody reads there.
    explain: bool = True


@dataclass(frozen=True)
class Evaluation:
    """The rule's decision and its full working (SPEC §4 step 7)."""

    action: str
    side: str | None
    qty: Decimal
    price: Decimal
    notional: Decimal
    commission: Decimal
    reason: str
    change: Decimal | None
    trigger_up: Decimal
    trigger_down: Decimal
    raw_qty: Decimal
    capped_qty: Decimal
    trimmed_qty: Decimal
    stock_alloc_before: Decimal | None
    stock_alloc_after: Decimal | None
    anchor: Decimal | None
    total_value: Decimal

    def to_dict(self) -> dict[str, Any]:
        """SPEC §7 evaluation keys (the caller adds position_id) plus the extra working."""
        keys = (
            "action", "side", "qty", "price", "notional", "commission", "reason", "change",
            "trigger_up", "trigger_down", "raw_qty", "capped_qty", "trimmed_qty",
            "stock_alloc_before", "stock_alloc_after", "anchor", "total_value",
        )  # fmt: skip
        return {key: getattr(self, key) for key in keys}


@dataclass(slots=True)
class _Work:
    """Intermediate values of one evaluation, filled in step by step."""

    state: PositionState
    price: Decimal
    policy: OrderPolicy
    guard: Guardrails
    context: OrderContext
    value: Decimal
    raw: Decimal = ZERO
    capped: Decimal = ZERO
    trimmed: Decimal = ZERO
    notes: list[str] = field(default_factory=list)

    # Computed when read: a simulation without the working never needs them.
    @property
    def alloc(self) -> Decimal | None:
        return self.state.qty * self.price / self.value if self.value > 0 else None

    @property
    def change(self) -> Decimal | None:
        anchor = self.state.anchor
        return (self.price - anchor) / anchor if anchor is not None and anchor > 0 else None


def evaluate(
    state: PositionState,
    price: Decimal,
    policy: OrderPolicy,
    guardrails: Guardrails,
    context: OrderContext = OrderContext(),
) -> Evaluation:
    """Apply the volatility-balancing rule to a position at `price`."""
    with localcontext(CONTEXT):
        return evaluate_in_context(state, price, policy, guardrails, context)


def evaluate_in_context(state: PositionState, price: Decimal, policy: OrderPolicy, guardrails: Guardrails,
                        context: OrderContext) -> Evaluation:
    """`evaluate` for a caller already inside `localcontext(CONTEXT)` (simulate enters it once per run)."""
    _require_positive_price(price)
    work = _start(state, price, policy, guardrails, context)
    early = _preflight(work)
    if early is not None:
        return early
    side, reason = _trigger(work)
    if side is None:
        return _finish(work, HOLD, reason)
    return _propose(work, side, reason)


def _start(state: PositionState, price: Decimal, policy: OrderPolicy, guard: Guardrails, context: OrderContext) -> _Work:
    return _Work(state, price, policy, guard, context, state.value(price))


def _preflight(w: _Work) -> Evaluation | None:
    """Step 1: anchor present and not too far away; a position worth something."""
    anchor = w.state.anchor
    if anchor is None:
        return _finish(w, HOLD, "no anchor")
    if anchor <= 0:
        return _finish(w, HOLD, f"anchor {fmt(anchor)} is not positive; set a new anchor")
    reset = w.policy.anchor_reset
    if abs(w.price - anchor) > reset * anchor:
        moved = _pct2(abs(w.change or ZERO))
        return _finish(
            w,
            ANCHOR_RESET,
            f"price {fmt(w.price)} is {moved} from anchor {fmt(anchor)}, beyond anchor_reset {_pct(reset)}; "
            f"reset the anchor to {fmt(w.price)}",
        )
    if w.value <= 0:
        return _finish(w, HOLD, "position has no value")
    return None


def _trigger(w: _Work) -> tuple[str | None, str]:
    """Step 2: which side, if any, and why."""
    p, anchor, pol, g = w.price, w.state.anchor, w.policy, w.guard
    assert anchor is not None
    if p - anchor >= pol.trigger_up * anchor:
        return "sell", f"price rose {_pct2(w.change)} above anchor {fmt(anchor)} (trigger {_pct(pol.trigger_up)})"
    if anchor - p >= pol.trigger_down * anchor:
        return "buy", f"price fell {_pct2(-w.change)} below anchor {fmt(anchor)} (trigger {_pct(pol.trigger_down)})"
    stock = w.state.qty * p
    if pol.auto_rebalance and stock < g.min_stock_alloc * w.value:
        return "buy", "rebalance"
    if pol.auto_rebalance and stock > g.max_stock_alloc * w.value:
        return "sell", "rebalance"
    if not w.context.explain:
        return None, "within the triggers"
    triggers = f"+{_pct(pol.trigger_up)} / -{_pct(pol.trigger_down)}"
    return None, f"price change {_pct2(w.change)} is within the triggers ({triggers})"


def _propose(w: _Work, side: str, reason: str) -> Evaluation:
    """Steps 3-6: size, cap, trim, round and check the proposed order."""
    w.raw = _raw_size(w, side, rebalance=reason == "rebalance")
    cap, cap_why = _cap_limit(w, side)
    w.capped = min(w.raw, cap)
    if w.capped < w.raw:
        w.notes.append(f"capped by {cap_why}")
    if cap <= 0:
        return _finish(w, HOLD, _zero_reason(w, side, cap, cap_why))
    guard = _guard_limit(w, side)
    if guard is None:
        return _finish(w, HOLD, _at_bound_reason(w, side))
    w.trimmed = min(w.capped, guard)
    if w.trimmed < w.capped:
        w.notes.append(f"trimmed to {_bound_name(w, side)}")
    qty = _fit_cash(w, side, floor_quantity(w.trimmed, w.policy))
    if qty == 0:
        return _finish(w, HOLD, _zero_reason(w, side, cap, cap_why))
    qty, refusal = _apply_minimums(w, side, qty, min(cap, guard))
    if refusal is not None:
        return refusal
    blocked = _blocked(w)
    if blocked is not None:
        return _finish(w, HOLD, blocked)
    full_reason = "; ".join([reason, *w.notes])
    return _finish(w, BUY if side == "buy" else SELL, full_reason, side, qty)


def _raw_size(w: _Work, side: str, *, rebalance: bool) -> Decimal:
    """Step 3: ΔQ = (anchor/P − 1)·r·V/P, or the size that lands a rebalance on its bound."""
    v, p = w.value, w.price
    if rebalance:
        q_p, rate, g = w.state.qty * p, w.policy.commission_rate, w.guard
        if side == "buy":
            return (g.min_stock_alloc * v - q_p) / (p * (ONE + g.min_stock_alloc * rate))
        return (q_p - g.max_stock_alloc * v) / (p * (ONE - g.max_stock_alloc * rate))
    anchor = w.state.anchor
    assert anchor is not None
    # (anchor − P)·r·V/P² is the same formula with a single division.
    return abs((anchor - p) * w.policy.rebalance_ratio * v / (p * p))


def _cap_limit(w: _Work, side: str) -> tuple[Decimal, str]:
    """Step 4: the largest quantity shares/cash and max_trade allow, and which one binds."""
    p = w.price
    if side == "sell":
        own, own_why = max(w.state.qty, ZERO), "shares held"
    else:
        own, own_why = max(w.state.cash, ZERO) / (p * (ONE + w.policy.commission_rate)), "cash (commission included)"
    per_trade = max(w.guard.max_trade * w.value / p, ZERO)
    if own <= per_trade:
        return own, own_why
    return per_trade, f"max_trade {_pct(w.guard.max_trade)}"


def _guard_limit(w: _Work, side: str) -> Decimal | None:
    """Step 5: the largest quantity that keeps the post-trade allocation inside the bound.

    None when the position is already at or beyond the bound in the trade's direction.
    """
    q_p, v, p, rate, g = w.state.qty * w.price, w.value, w.price, w.policy.commission_rate, w.guard
    if side == "buy":
        room, denominator = g.max_stock_alloc * v - q_p, p * (ONE + g.max_stock_alloc * rate)
    else:
        room, denominator = q_p - g.min_stock_alloc * v, p * (ONE - g.min_stock_alloc * rate)
    if room <= 0 or denominator <= 0:
        return None
    return room / denominator


def floor_quantity(qty: Decimal, policy: OrderPolicy) -> Decimal:
    """Step 6 rounding: floor toward zero to qty_step (else 6 decimals) and to lot_size."""
    if qty <= 0:
        return ZERO
    if policy.qty_step > 0:
        qty = floor_to_step(qty, policy.qty_step)
    else:
        qty = floor_decimals(qty)
    if policy.lot_size > 0:
        qty = floor_to_step(qty, policy.lot_size)
    return qty  # both floors return it normalized


def ceil_quantity(qty: Decimal, policy: OrderPolicy) -> Decimal | None:
    """The smallest allowed quantity ≥ qty; None when qty_step and lot_size admit none."""
    step = policy.qty_step if policy.qty_step > 0 else _FRACTIONAL_STEP
    with localcontext(CONTEXT):
        result = _ceil_to(qty, step)
        if policy.lot_size > 0:
            result = _ceil_to(result, policy.lot_size)
    return result if floor_quantity(result, policy) == result else None


def _ceil_to(qty: Decimal, step: Decimal) -> Decimal:
    return normalize((qty / step).to_integral_value(rounding=ROUND_CEILING) * step)


def _fit_cash(w: _Work, side: str, qty: Decimal) -> Decimal:
    """Shrink a buy whose cost with the *rounded* commission would exceed the cash.

    The cap of step 4 uses the exact rate; rounding the commission up to a cent can add
    up to half a cent. One pass suffices: the smaller order's commission is not larger.
    """
    if side != "buy" or qty == 0 or _buy_cost(w, qty) <= w.state.cash:
        return qty
    commission = _commission(w, qty)
    return floor_quantity(max(w.state.cash - commission, ZERO) / w.price, w.policy)


def _buy_cost(w: _Work, qty: Decimal) -> Decimal:
    return qty * w.price + _commission(w, qty)


def _commission(w: _Work, qty: Decimal) -> Decimal:
    return round_money(qty * w.price * w.policy.commission_rate, w.context.currency)


def _apply_minimums(w: _Work, side: str, qty: Decimal, limit: Decimal) -> tuple[Decimal, Evaluation | None]:
    """Step 6 minimums: hold, reject, or clip up to the smallest order that meets them."""
    short = _shortfall(w, qty)
    if short is None:
        return qty, None
    mode = w.policy.below_min
    if mode == "reject":
        return qty, _finish(w, REJECTED, f"{side} of {fmt(qty)}: {short}")
    if mode != "clip":
        return qty, _finish(w, HOLD, short)
    needed = max(w.policy.min_qty, w.policy.min_notional / w.price)
    clipped = ceil_quantity(needed, w.policy)
    if clipped is not None and clipped <= limit and (side == "sell" or _buy_cost(w, clipped) <= w.state.cash):
        w.notes.append(f"raised from {fmt(qty)} to the minimum (below_min clip)")
        return clipped, None
    shown = fmt(clipped) if clipped is not None else "allowed by qty_step and lot_size"
    return qty, _finish(w, HOLD, f"{short}; the minimum order {shown} exceeds the caps or guardrails")


def _shortfall(w: _Work, qty: Decimal) -> str | None:
    """Which minimums the quantity misses, as text; None when it meets them."""
    notional = qty * w.price
    if qty >= w.policy.min_qty and notional >= w.policy.min_notional:
        return None
    problems = []
    if qty < w.policy.min_qty:
        problems.append(f"qty {fmt(qty)} below min_qty {fmt(w.policy.min_qty)}")
    if notional < w.policy.min_notional:
        problems.append(f"notional {fmt(normalize(notional))} below min_notional {fmt(w.policy.min_notional)}")
    return " and ".join(problems) or None


def _blocked(w: _Work) -> str | None:
    """Step 6 order limits: an open order, or the daily cap."""
    if w.context.has_open_order:
        return "open order on the position"
    cap = w.guard.max_orders_per_day
    if w.context.apply_daily_cap and w.context.orders_today >= cap:
        return f"daily order cap {cap} reached"
    return None


def _bound_name(w: _Work, side: str) -> str:
    if side == "buy":
        return f"max_stock_alloc {_pct(w.guard.max_stock_alloc)}"
    return f"min_stock_alloc {_pct(w.guard.min_stock_alloc)}"


def _at_bound_reason(w: _Work, side: str) -> str:
    now = f" (now {_pct2(w.alloc)})" if w.alloc is not None else ""
    if side == "buy":
        return f"stock allocation already at max {_pct(w.guard.max_stock_alloc)}{now}"
    return f"stock allocation already at min {_pct(w.guard.min_stock_alloc)}{now}"


def _zero_reason(w: _Work, side: str, cap: Decimal, cap_why: str) -> str:
    if cap <= 0 and side == "sell" and cap_why == "shares held":
        return "no shares to sell"
    if cap <= 0 and side == "buy" and cap_why.startswith("cash"):
        return "no cash to buy"
    if cap <= 0:
        return f"{cap_why} allows no order"
    if w.raw == 0:
        return "the formula proposes no shares at this price"
    return f"proposed {side} of {fmt(_shown(w.trimmed))} rounds down to 0"


def _finish(w: _Work, action: str, reason: str, side: str | None = None, qty: Decimal = ZERO) -> Evaluation:
    rate = w.policy.commission_rate
    if not w.context.explain:
        # No order: nothing to price (the explained path's 0 and 0.00 are the same amounts).
        notional = normalize(qty * w.price) if qty else ZERO
        commission = round_money(notional * rate, w.context.currency) if qty else ZERO
        return _quick_evaluation(action=action, side=side, qty=normalize(qty), price=w.price, notional=notional,
                                 commission=commission, reason=reason, change=None, trigger_up=w.policy.trigger_up,
                                 trigger_down=w.policy.trigger_down, raw_qty=w.raw, capped_qty=w.capped,
                                 trimmed_qty=w.trimmed, stock_alloc_before=None, stock_alloc_after=None,
                                 anchor=w.state.anchor, total_value=w.value)
    notional = normalize(qty * w.price)
    commission = round_money(notional * rate, w.context.currency)
    after = post_trade_alloc(w.state, side, qty, w.price, rate) if side is not None else w.alloc
    return Evaluation(
        action=action,
        side=side,
        qty=normalize(qty),
        price=w.price,
        notional=notional,
        commission=commission,
        reason=reason,
        change=_shown(w.change),
        trigger_up=w.policy.trigger_up,
        trigger_down=w.policy.trigger_down,
        raw_qty=_shown(w.raw),
        capped_qty=_shown(w.capped),
        trimmed_qty=_shown(w.trimmed),
        stock_alloc_before=_shown(w.alloc),
        stock_alloc_after=_shown(after),
        anchor=w.state.anchor,
        total_value=normalize(w.value),
    )


def _quick_evaluation(**values: Any) -> Evaluation:
    """An Evaluation without the frozen dataclass's per-field __setattr__ (a third of a HOLD bar)."""
    evaluation = object.__new__(Evaluation)
    evaluation.__dict__.update(values)
    return evaluation


def post_trade_alloc(state: PositionState, side: str, qty: Decimal, price: Decimal, commission_rate: Decimal) -> Decimal | None:
    """Stock allocation after a trade whose commission (qty·price·rate) leaves the position.

    Buy: (Q+q)P / (V − qP·rate); sell: (Q−q)P / (V − qP·rate). None when nothing is left.
    """
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', not {side!r}")
    with localcontext(CONTEXT):
        fee = qty * price * commission_rate
        value = state.value(price) - fee
        shares = state.qty + qty if side == "buy" else state.qty - qty
        return shares * price / value if value > 0 else None


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
    _require_positive_price(price)
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
                f"The order's notional {fmt(normalize(notional))} is above max_trade {_pct(guardrails.max_trade)} "
                f"of the position value {fmt(normalize(value))}."
            )
    return None


def _manual_alloc_refusal(
    state: PositionState, side: str, qty: Decimal, price: Decimal, rate: Decimal, g: Guardrails
) -> str | None:
    value_after = state.value(price) - qty * price * rate
    after = post_trade_alloc(state, side, qty, price, rate)
    shown = _pct2(after) if after is not None else "an undefined value"
    if side == "buy" and (state.qty + qty) * price > g.max_stock_alloc * value_after:
        return (
            f"Buying {fmt(qty)} at {fmt(price)} would raise the stock allocation to {shown}, "
            f"above max_stock_alloc {_pct(g.max_stock_alloc)}."
        )
    if side == "sell" and (state.qty - qty) * price < g.min_stock_alloc * value_after:
        return (
            f"Selling {fmt(qty)} at {fmt(price)} would lower the stock allocation to {shown}, "
            f"below min_stock_alloc {_pct(g.min_stock_alloc)}."
        )
    return None


def _require_positive_price(price: Decimal) -> None:
    if not price > 0:
        raise UsageError(f"The price must be greater than zero, not {fmt(price)}.")


def _shown(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_ratio(value, SHOWN_PLACES)


@functools.lru_cache(maxsize=256)  # the same few thresholds, in every reason of a backtest
def _pct(fraction: Decimal) -> str:
    """A configured threshold as a percentage: 0.03 → 3%."""
    return f"{fmt(normalize(fraction * 100))}%"


def _pct2(fraction: Decimal) -> str:
    """A measured ratio as a percentage with two decimals: -0.0299 → -2.99%."""
    return f"{fmt((fraction * 100).quantize(_CENT, rounding=ROUND_HALF_EVEN, context=CONTEXT))}%"
