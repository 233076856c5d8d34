"""A position's order policy and guardrails (SPEC §2), with their defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal
from typing import Any

from vbcli.errors import UsageError

BELOW_MIN_MODES = ("hold", "reject", "clip")


@dataclass(frozen=True)
class OrderPolicy:
    """How the rule sizes orders. Rates are fractions (0.03 = 3%)."""

    trigger_up: Decimal = Decimal("0.03")
    trigger_down: Decimal = Decimal("0.03")
    rebalance_ratio: Decimal = Decimal("1.6667")
    commission_rate: Decimal = Decimal("0.0001")
    min_qty: Decimal = Decimal("0")
    min_notional: Decimal = Decimal("100")
    lot_size: Decimal = Decimal("0")
    qty_step: Decimal = Decimal("0")
    below_min: str = "hold"
    auto_rebalance: bool = True
    anchor_reset: Decimal = Decimal("0.5")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Guardrails:
    """Limits on the stock share of a position and on order size and count."""

    min_stock_alloc: Decimal = Decimal("0.25")
    max_stock_alloc: Decimal = Decimal("0.75")
    max_trade: Decimal = Decimal("0.2")
    max_orders_per_day: int = 5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


POLICY_FIELDS = tuple(f.name for f in fields(OrderPolicy))
GUARDRAIL_FIELDS = tuple(f.name for f in fields(Guardrails))


def check_settings(policy: OrderPolicy, guardrails: Guardrails) -> None:
    """Refuse settings that contradict each other (exit 2)."""
    if guardrails.min_stock_alloc > guardrails.max_stock_alloc:
        raise UsageError("--min-alloc must not be above --max-alloc.")
    if policy.below_min not in ("hold", "reject", "clip"):
        raise UsageError("--below-min must be hold, reject or clip.")
    if policy.rebalance_ratio <= 0:
        raise UsageError("--ratio must be greater than zero.")
    if guardrails.max_orders_per_day < 0:
        raise UsageError("--max-orders-per-day must not be negative.")


def settings_with(row_policy: OrderPolicy, row_guardrails: Guardrails, changes: dict[str, Any]) -> tuple[OrderPolicy, Guardrails]:
    """Apply option values (field name → value) onto a policy and guardrails."""
    policy = replace(row_policy, **{k: v for k, v in changes.items() if k in POLICY_FIELDS})
    guardrails = replace(row_guardrails, **{k: v for k, v in changes.items() if k in GUARDRAIL_FIELDS})
    check_settings(policy, guardrails)
    return policy, guardrails
