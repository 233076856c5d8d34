"""The volatility-balancing rule (SPEC §4): one pure function over exact decimals.

`evaluate` is the only implementation of the rule; `vb evaluate`, `vb orders place`
(through `check_manual_order`) and `vb simulate` all call it. No database, no printing.
Threshold comparisons are cross-multiplied so that "exactly 3%" is decided without a
rounded quotient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from vbcli.domain.numbers import (
    CONTEXT,
    ONE,
    ZERO,
    fmt,
    normalize,
    round_money,
)
from vbcli.domain.manual import check_manual_order  # noqa: F401  (the rule's one public home)
from vbcli.domain.rule_values import (  # noqa: F401  (re-exported: callers import the rule's values from here)
    SHOWN_PLACES,
    Evaluation,
    OrderContext,
    PositionState,
    ceil_quantity,
    floor_quantity,
    pct,
    pct2,
    post_trade_alloc,
    require_positive_price,
    shown,
)
from vbcli.domain.policy import Guardrails, OrderPolicy

BUY, SELL, HOLD, REJECTED, ANCHOR_RESET = "BUY", "SELL", "HOLD", "REJECTED", "ANCHOR_RESET"


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
    require_positive_price(price)
    work = _Work(state, price, policy, guardrails, context, state.value(price))
    early = _preflight(work)
    if early is not None:
        return early
    side, reason = _trigger(work)
    if side is None:
        return _finish(work, HOLD, reason)
    return _propose(work, side, reason)


def _preflight(w: _Work) -> Evaluation | None:
    """Step 1: anchor present and not too far away; a position worth something."""
    anchor = w.state.anchor
    if anchor is None:
        return _finish(w, HOLD, "no anchor")
    if anchor <= 0:
        return _finish(w, HOLD, f"anchor {fmt(anchor)} is not positive; set a new anchor")
    reset = w.policy.anchor_reset
    if abs(w.price - anchor) > reset * anchor:
        moved = pct2(abs(w.change or ZERO))
        return _finish(
            w,
            ANCHOR_RESET,
            f"price {fmt(w.price)} is {moved} from anchor {fmt(anchor)}, beyond anchor_reset {pct(reset)}; "
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
        return "sell", f"price rose {pct2(w.change)} above anchor {fmt(anchor)} (trigger {pct(pol.trigger_up)})"
    if anchor - p >= pol.trigger_down * anchor:
        return "buy", f"price fell {pct2(-w.change)} below anchor {fmt(anchor)} (trigger {pct(pol.trigger_down)})"
    stock = w.state.qty * p
    if pol.auto_rebalance and stock < g.min_stock_alloc * w.value:
        return "buy", "rebalance"
    if pol.auto_rebalance and stock > g.max_stock_alloc * w.value:
        return "sell", "rebalance"
    if not w.context.explain:
        return None, "within the triggers"
    triggers = f"+{pct(pol.trigger_up)} / -{pct(pol.trigger_down)}"
    return None, f"price change {pct2(w.change)} is within the triggers ({triggers})"


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
    return per_trade, f"max_trade {pct(w.guard.max_trade)}"


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
        return f"max_stock_alloc {pct(w.guard.max_stock_alloc)}"
    return f"min_stock_alloc {pct(w.guard.min_stock_alloc)}"


def _at_bound_reason(w: _Work, side: str) -> str:
    now = f" (now {pct2(w.alloc)})" if w.alloc is not None else ""
    if side == "buy":
        return f"stock allocation already at max {pct(w.guard.max_stock_alloc)}{now}"
    return f"stock allocation already at min {pct(w.guard.min_stock_alloc)}{now}"


def _zero_reason(w: _Work, side: str, cap: Decimal, cap_why: str) -> str:
    if cap <= 0 and side == "sell" and cap_why == "shares held":
        return "no shares to sell"
    if cap <= 0 and side == "buy" and cap_why.startswith("cash"):
        return "no cash to buy"
    if cap <= 0:
        return f"{cap_why} allows no order"
    if w.raw == 0:
        return "the formula proposes no shares at this price"
    return f"proposed {side} of {fmt(shown(w.trimmed))} rounds down to 0"


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
        change=shown(w.change),
        trigger_up=w.policy.trigger_up,
        trigger_down=w.policy.trigger_down,
        raw_qty=shown(w.raw),
        capped_qty=shown(w.capped),
        trimmed_qty=shown(w.trimmed),
        stock_alloc_before=shown(w.alloc),
        stock_alloc_after=shown(after),
        anchor=w.state.anchor,
        total_value=normalize(w.value),
    )


def _quick_evaluation(**values: Any) -> Evaluation:
    """An Evaluation without the frozen dataclass's per-field __setattr__ (a third of a HOLD bar)."""
    evaluation = object.__new__(Evaluation)
    evaluation.__dict__.update(values)
    return evaluation
