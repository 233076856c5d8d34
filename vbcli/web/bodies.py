"""Request bodies: §7's field names; decimals as JSON strings (or integers), never floats.

A JSON number with a fraction has already been read as binary floating point by the time
it arrives, so it is refused with what to send instead.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _decimal_text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a decimal string such as \"145.2\", not true/false")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise ValueError(f"must be a decimal string such as \"{value}\" (JSON numbers with a fraction are inexact)")
    return value


Dec = Annotated[str, BeforeValidator(_decimal_text), Field(max_length=40)]
Text = Annotated[str, Field(max_length=2000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderPolicyBody(Body):
    trigger_up: Dec | None = None
    trigger_down: Dec | None = None
    rebalance_ratio: Dec | None = None
    commission_rate: Dec | None = None
    min_qty: Dec | None = None
    min_notional: Dec | None = None
    lot_size: Dec | None = None
    qty_step: Dec | None = None
    below_min: Annotated[str, Field(max_length=20)] | None = None
    auto_rebalance: bool | None = None
    anchor_reset: Dec | None = None


class GuardrailsBody(Body):
    min_stock_alloc: Dec | None = None
    max_stock_alloc: Dec | None = None
    max_trade: Dec | None = None
    max_orders_per_day: Dec | None = None


# §7 field name → the CLI option name that parse_settings knows it by
OPTION_OF = {"rebalance_ratio": "ratio", "min_stock_alloc": "min_alloc", "max_stock_alloc": "max_alloc"}


class NewPosition(Body):
    symbol: Annotated[str, Field(max_length=40)]
    qty: Dec = "0"
    cash: Dec = "0"
    anchor: Dec | None = None
    avg_cost: Dec | None = None
    portfolio: Annotated[str, Field(max_length=200)] | None = None
    trigger: Dec | None = Field(None, description="Both triggers at once, like --trigger.")
    order_policy: OrderPolicyBody = OrderPolicyBody()
    guardrails: GuardrailsBody = GuardrailsBody()

    def raw_settings(self) -> dict[str, Any]:
        """The policy values keyed as the CLI's options, for parse_settings."""
        given = {**self.order_policy.model_dump(exclude_none=True), **self.guardrails.model_dump(exclude_none=True)}
        raw = {OPTION_OF.get(name, name): value for name, value in given.items()}
        if self.trigger is not None:
            raw["trigger"] = self.trigger
        return raw


class NewOrder(Body):
    side: Annotated[str, Field(max_length=10)]
    qty: Dec
    limit: Dec | None = None
    note: Text = ""
    force: bool = False


class Fill(Body):
    price: Dec
    qty: Dec | None = None
    commission: Dec | None = None
    at: Annotated[str, Field(max_length=60)] | None = None


class NewTrade(Body):
    side: Annotated[str, Field(max_length=10)]
    qty: Dec
    price: Dec
    commission: Dec | None = None
    at: Annotated[str, Field(max_length=60)] | None = None


class Evaluate(Body):
    price: Dec
    place: bool = False
    fill: bool = False
