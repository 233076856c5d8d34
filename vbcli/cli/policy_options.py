"""The policy and guardrail options shared by `positions add`, `positions set` and `simulate`.

Typer reads a command's signature, so `with_policy_options` adds these parameters to it and
hands the command one `settings` dict (field name → parsed value) instead.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import typer

from vbcli.domain.numbers import normalize, parse_decimal, parse_fraction, parse_positive
from vbcli.errors import UsageError

_PANEL = "Order policy and guardrails"


def _opt(flag: str, help: str) -> Any:
    return Annotated[str | None, typer.Option(flag, help=help, rich_help_panel=_PANEL, show_default=False)]


# parameter name → (annotation, field names it sets, parser)
_OPTIONS: dict[str, tuple[Any, tuple[str, ...], Callable[[str, str], Any]]] = {
    "trigger": (_opt("--trigger", "Both triggers, e.g. 3% or 0.03."), ("trigger_up", "trigger_down"), lambda v, w: parse_fraction(v, what=w)),
    "trigger_up": (_opt("--trigger-up", "Rise from the anchor that sells (default 3%)."), ("trigger_up",), lambda v, w: parse_fraction(v, what=w)),
    "trigger_down": (_opt("--trigger-down", "Fall from the anchor that buys (default 3%)."), ("trigger_down",), lambda v, w: parse_fraction(v, what=w)),
    "ratio": (_opt("--ratio", "Rebalance ratio r of the sizing formula (default 1.6667)."), ("rebalance_ratio",), lambda v, w: parse_positive(v, what=w)),
    "commission_rate": (_opt("--commission-rate", "Commission as a share of notional (default 0.01%)."), ("commission_rate",), lambda v, w: parse_fraction(v, what=w)),
    "min_qty": (_opt("--min-qty", "Smallest order quantity (default 0)."), ("min_qty",), lambda v, w: parse_decimal(v, what=w)),
    "min_notional": (_opt("--min-notional", "Smallest order value (default 100)."), ("min_notional",), lambda v, w: parse_decimal(v, what=w)),
    "lot_size": (_opt("--lot-size", "Orders in multiples of this many shares (0 = none)."), ("lot_size",), lambda v, w: parse_decimal(v, what=w)),
    "qty_step": (_opt("--qty-step", "Quantity step (0 = fractional shares, 6 decimals)."), ("qty_step",), lambda v, w: parse_decimal(v, what=w)),
    "below_min": (_opt("--below-min", "Below the minimums: hold, reject or clip (default hold)."), ("below_min",), lambda v, w: _below_min(v)),
    "anchor_reset": (_opt("--anchor-reset", "Move from the anchor that resets it instead of trading (default 50%)."), ("anchor_reset",), lambda v, w: parse_fraction(v, what=w, allow_above_one=True)),
    "min_alloc": (_opt("--min-alloc", "Lowest stock share of the position (default 25%)."), ("min_stock_alloc",), lambda v, w: parse_fraction(v, what=w)),
    "max_alloc": (_opt("--max-alloc", "Highest stock share of the position (default 75%)."), ("max_stock_alloc",), lambda v, w: parse_fraction(v, what=w)),
    "max_trade": (_opt("--max-trade", "Largest order as a share of position value (default 20%)."), ("max_trade",), lambda v, w: parse_fraction(v, what=w)),
    "max_orders_per_day": (_opt("--max-orders-per-day", "Orders per position per UTC day (default 5)."), ("max_orders_per_day",), lambda v, w: _count(v, w)),
}
OPTION_NAMES = tuple(_OPTIONS)  # `vb optimize --grid NAME=…` takes these (with dashes)
# A zero trigger would trade on every tick, a zero anchor reset would reset on every tick.
_NONZERO = ("trigger", "trigger_up", "trigger_down", "anchor_reset")
_AUTO = Annotated[
    bool | None,
    typer.Option("--auto-rebalance/--no-auto-rebalance", help="Trade back inside the guardrails without a trigger (default on).", rich_help_panel=_PANEL, show_default=False),
]


def _below_min(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("hold", "reject", "clip"):
        raise UsageError(f"--below-min must be hold, reject or clip, not {value[:20]!r}.")
    return mode


def _count(value: str, what: str) -> int:
    number = parse_decimal(value, what=what)
    if number != number.to_integral_value() or number > 1_000_000:
        raise UsageError(f"{what} must be a whole number up to 1000000.")
    return int(number)


def with_policy_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the policy options to a command; it receives them parsed as `settings`."""
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)  # resolve `from __future__` strings
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values() if p.name != "settings"]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
             for name, (annotation, _, _) in _OPTIONS.items()]
    extra.append(inspect.Parameter("auto_rebalance", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_AUTO))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = {name: kwargs.pop(name, None) for name in [*_OPTIONS, "auto_rebalance"]}
        return func(*args, settings=raw, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=_ordered(params + extra))  # type: ignore[attr-defined]
    return wrapper


def parse_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """Option values as typed → field name → parsed value (only the options given)."""
    settings: dict[str, Any] = {}
    for name, (_, fields, parse) in _OPTIONS.items():
        value = raw.get(name)
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        parsed = parse(value, flag)
        if isinstance(parsed, Decimal):
            # 0.20 and 0.2 are one setting: store and print it one way on both engines.
            parsed = normalize(parsed)
            if name in _NONZERO and parsed == 0:
                raise UsageError(f"{flag} must be greater than zero.")
        for field in fields:  # --trigger comes first, so --trigger-up/--trigger-down win
            settings[field] = parsed
    if raw.get("auto_rebalance") is not None:
        settings["auto_rebalance"] = raw["auto_rebalance"]
    return settings


def _ordered(params: list[inspect.Parameter]) -> list[inspect.Parameter]:
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    keyword = [p for p in params if p.kind == inspect.Parameter.KEYWORD_ONLY]
    return positional + keyword
