"""The values the rule reads and returns, and the quantity and percentage arithmetic it shares
with the manual-order check: pure, over exact decimals."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from vbcli.domain.numbers import CONTEXT, PROPOSAL_DECIMALS, ZERO, floor_decimals, floor_to_step, fmt, normalize, round_ratio
from vbcli.domain.policy import OrderPolicy
from vbcli.errors import UsageError

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


def require_positive_price(price: Decimal) -> None:
    if not price > 0:
        raise UsageError(f"The price must be greater than zero, not {fmt(price)}.")


def shown(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_ratio(value, SHOWN_PLACES)


@functools.lru_cache(maxsize=256)  # the same few thresholds, in every reason of a backtest
def pct(fraction: Decimal) -> str:
    """A configured threshold as a percentage: 0.03 → 3%."""
    return f"{fmt(normalize(fraction * 100))}%"


def pct2(fraction: Decimal) -> str:
    """A measured ratio as a percentage with two decimals: -0.0299 → -2.99%."""
    return f"{fmt((fraction * 100).quantize(_CENT, rounding=ROUND_HALF_EVEN, context=CONTEXT))}%"
