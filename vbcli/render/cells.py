"""Terminal cell text: money, quantities, percentages, times and id prefixes for people.

Only the `table` format uses these; machine formats keep exact values and full ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from vbcli.domain.jsonvalue import json_value
from vbcli.domain.numbers import CONTEXT, minor_units, normalize

MIN_ID_PREFIX = 8  # like git: short, but long enough to stay unique for a while
_PERCENT_PLACES = Decimal("0.01")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(json_value(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if isinstance(value, (Decimal, datetime, date)):
        return str(json_value(value))
    return str(value)


def visible(text: str) -> str:
    """Make control characters visible (\\n, \\t, \\x1b) so nothing steers the terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def as_decimal(value: Any) -> Decimal | None:
    """A Decimal from a view value (a replayed result keeps decimals as strings)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return None
    return None


def money(value: Any, currency: str | None = None, *, code: bool = False) -> str:
    """An amount in the currency's minor unit, grouped by thousands: 9,156.94 (USD)."""
    number = as_decimal(value)
    if number is None:
        return "" if value is None else str(value)
    places = minor_units(currency or "USD")
    shown = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=CONTEXT)
    text = f"{shown + 0:,.{places}f}"  # + 0 turns -0.00 into 0.00
    return f"{text} {currency}" if code and currency else text


def price(value: Any, currency: str | None = None) -> str:
    """A price per share: the minor unit, or four decimals for prices under 1 (penny stocks)."""
    number = as_decimal(value)
    if number is not None and 0 < abs(number) < 1:
        shown = normalize(number.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN, context=CONTEXT))
        places = max(minor_units(currency or "USD"), -int(shown.as_tuple().exponent))
        return f"{shown:.{places}f}"
    return money(value, currency)


def quantity(value: Any) -> str:
    """A quantity as stored, without trailing zeros: 100, 12.5."""
    number = as_decimal(value)
    if number is None:
        return "" if value is None else str(value)
    return f"{normalize(number):f}"


def percent(value: Any) -> str:
    """A fraction as a percentage to two decimals at most: 0.634555 → 63.46%, 0.04 → 4%."""
    number = as_decimal(value)
    if number is None:
        return "" if value is None else str(value)
    shown = (number * 100).quantize(_PERCENT_PLACES, rounding=ROUND_HALF_EVEN, context=CONTEXT)
    return f"{normalize(shown):f}%"


def when(value: Any) -> str:
    """A time to the minute in UTC (2026-12-01 19:14Z); a date as it is."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        moment = value.astimezone(timezone.utc) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%MZ")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def day(value: Any) -> str:
    """A date (or the date of a time)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, str) and len(value) >= 10:
        return value[:10]
    return when(value)


def short_ids(ids: Iterable[str], known: Iterable[str] = ()) -> dict[str, str]:
    """The shortest prefix (≥ 8 characters) that keeps each shown id apart from every other shown or
    known id; one length for all, as `git log --oneline` does, so the column reads evenly."""
    shown = sorted(set(ids))
    everything = sorted(set(shown) | set(known))
    wanted = set(shown)
    length = MIN_ID_PREFIX
    for index, ident in enumerate(everything):
        if ident not in wanted:
            continue
        need = MIN_ID_PREFIX
        for neighbour in (everything[index - 1] if index else None, everything[index + 1] if index + 1 < len(everything) else None):
            if neighbour is not None:
                need = max(need, _common(ident, neighbour) + 1)
        length = max(length, need)
    return {ident: ident[:length] for ident in shown}


def _common(a: str, b: str) -> int:
    count = 0
    for left, right in zip(a, b):
        if left != right:
            break
        count += 1
    return count
