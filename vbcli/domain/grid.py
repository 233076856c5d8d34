"""The parameter grid of `vb optimize` (SPEC §8.6): values, combinations, extra metrics, ranking.

Pure functions over `Decimal`. Parsing one value is left to the caller (the same parser as
the policy option), so a grid value is validated exactly like the option.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any

from vbcli.domain.numbers import CONTEXT, ONE, ZERO, normalize
from vbcli.errors import UsageError

TRADING_DAYS = 252
HIGHER_FIRST = ("sharpe", "return", "excess_return", "calmar", "sortino")
LOWER_FIRST = ("max_drawdown", "volatility")
METRICS = HIGHER_FIRST + LOWER_FIRST


@dataclass(frozen=True)
class Axis:
    """One `--grid NAME=VALUES`: the option name and the values to try, in order."""

    name: str
    values: tuple[Any, ...]


def value_count(spec: str, parse: Callable[[str], Any], *, what: str) -> int:
    """How many values `spec` holds, checked, without expanding a range."""
    return len(_list(spec, parse, what)) if ":" not in spec else _range(spec, parse, what)[3]


def expand(spec: str, parse: Callable[[str], Any], *, what: str) -> tuple[Any, ...]:
    """`a,b,c` or `FROM:TO:STEP` (inclusive) → the parsed values."""
    if ":" not in spec:
        return tuple(_list(spec, parse, what))
    start, _, step, count = _range(spec, parse, what)
    with localcontext(CONTEXT):
        return tuple(normalize(start + step * k) for k in range(count))


def _list(spec: str, parse: Callable[[str], Any], what: str) -> list[Any]:
    items = [item.strip() for item in spec.split(",")]
    if not spec.strip() or any(not item for item in items):
        raise UsageError(f"{what} has an empty value; give a,b,c or FROM:TO:STEP.")
    values = [parse(item) for item in items]
    for index, value in enumerate(values):
        if value in values[:index]:
            raise UsageError(f"{what} lists {items[index]!r} twice.")
    return values


def _range(spec: str, parse: Callable[[str], Any], what: str) -> tuple[Decimal, Decimal, Decimal, int]:
    parts = [part.strip() for part in spec.split(":")]
    if len(parts) != 3 or not all(parts):
        raise UsageError(f"{what} must be FROM:TO:STEP such as 2%:6%:1%, not {spec[:40]!r}.")
    start, stop = parse(parts[0]), parse(parts[1])
    if not isinstance(start, Decimal):
        raise UsageError(f"{what} is not a number option; list its values as a,b,c.")
    step = _step(parts[2], parse, what)
    if start > stop:
        raise UsageError(f"{what} is a reversed range: {parts[0]} is above {parts[1]}.")
    with localcontext(CONTEXT):
        count = int(((stop - start) / step).to_integral_value(rounding=ROUND_FLOOR)) + 1
    return start, stop, step, count


def _step(text: str, parse: Callable[[str], Any], what: str) -> Decimal:
    """The step, read like the option's values (3% or 0.03), and greater than zero."""
    bare = text[:-1] if text.endswith("%") else text
    try:
        zero = Decimal(bare) == 0
    except ArithmeticError:
        zero = False
    if zero:
        raise UsageError(f"{what} has a zero step; the step must be greater than zero.")
    return parse(text)


def combinations(axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every combination, the last axis varying fastest (grid order)."""
    return [dict(zip([a.name for a in axes], values)) for values in itertools.product(*(a.values for a in axes))]


def split_index(dates: Sequence[datetime.date], until: datetime.date) -> int:
    """How many bars are on or before `until` (the bar on `until` belongs to the train part)."""
    return sum(1 for day in dates if day <= until)


def calmar(final: Decimal, initial: Decimal, periods: int, max_drawdown: Decimal) -> Decimal | None:
    """Annual growth over max drawdown, a year being 252 daily returns; None without a drawdown.

    (Sortino comes with the simulation: `SimulationResult.sortino`.)
    """
    if periods == 0 or max_drawdown == 0 or initial <= 0:
        return None
    with localcontext(CONTEXT):
        growth = final / initial
        annual = growth ** (Decimal(TRADING_DAYS) / periods) - ONE if growth > 0 else -ONE
        return annual / max_drawdown


def rank(metrics: Sequence[dict[str, Decimal | None]], metric: str) -> list[int]:
    """Row indices, best first by `metric`; rows without a value last; ties keep grid order."""
    if metric not in METRICS:
        raise UsageError(f"--metric must be one of {', '.join(METRICS)}, not {metric[:40]!r}.")
    sign = -1 if metric in HIGHER_FIRST else 1

    def key(index: int) -> tuple[int, Decimal, int]:
        value = metrics[index].get(metric)
        return (1, ZERO, index) if value is None else (0, sign * value, index)

    return sorted(range(len(metrics)), key=key)
