"""Exact numbers: parsing user input into Decimal, rounding in named places, formatting.

Every amount in vb is a `Decimal` built from a string. Rounding happens only in the
functions below, each with an explicit rounding mode.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

from vbcli.errors import UsageError

# Plenty of headroom: 10^15 with 12 fractional digits needs 27 digits; products need more.
CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)

MAX_MAGNITUDE = Decimal("1e15")
MAX_FRACTION_DIGITS = 12
PROPOSAL_DECIMALS = 6  # fractional-share proposals are floored to 6 decimals (SPEC §2)
AVG_COST_DECIMALS = 10

ZERO = Decimal("0")
_PROPOSAL_QUANTUM = Decimal(1).scaleb(-PROPOSAL_DECIMALS)
ONE = Decimal("1")
HUNDRED = Decimal("100")

# ASCII digits only: \d would also take "١٢" (Arabic-Indic) as 12.
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")

# ISO 4217 minor units for the currencies whose cents are not 2 digits.
_QUANTA: dict[str, Decimal] = {}  # currency → its cent, computed once
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3, "JOD": 3}


def parse_decimal(text: str, *, what: str, allow_negative: bool = False, allow_zero: bool = True) -> Decimal:
    """Parse a plain decimal number typed by a user (no exponent, no NaN/Infinity, no grouping)."""
    raw = str(text).strip()
    if not _NUMBER.match(raw):
        raise UsageError(f"{what} must be a plain decimal number such as 12.5, not {_show(raw)}.")
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex already guards this
        raise UsageError(f"{what} must be a plain decimal number, not {_show(raw)}.") from None
    if value == 0:
        value = ZERO  # "-0" is zero
    if abs(value) >= MAX_MAGNITUDE:
        raise UsageError(f"{what} {_show(raw)} is too large; the limit is 1000000000000000.")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_FRACTION_DIGITS:
        raise UsageError(f"{what} {_show(raw)} has more than {MAX_FRACTION_DIGITS} decimal places.")
    if value < 0 and not allow_negative:
        raise UsageError(f"{what} must not be negative, got {_show(raw)}.")
    if value == 0 and not allow_zero:
        raise UsageError(f"{what} must be greater than zero.")
    return value


def parse_positive(text: str, *, what: str) -> Decimal:
    """A strictly positive decimal (quantities, prices)."""
    return parse_decimal(text, what=what, allow_zero=False)


def parse_fraction(text: str, *, what: str, allow_above_one: bool = False) -> Decimal:
    """Parse a rate given as `3%` or `0.03`; a bare number above 1 is refused ("did you mean 3%?")."""
    raw = str(text).strip()
    if raw.endswith("%"):
        value = parse_decimal(raw[:-1], what=what) / HUNDRED
        if value > 1 and not allow_above_one:
            raise UsageError(f"{what} {_show(raw)} is above 100%.")
    else:
        value = parse_decimal(raw, what=what)
        if value > 1:
            raise UsageError(f"{what} {_show(raw)} is above 1; did you mean {raw}%?")
    return normalize(value)


def normalize(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (0.0300 → 0.03, 100 stays 100)."""
    if value == 0:
        return ZERO
    normalized = value.normalize(CONTEXT)
    # A positive exponent is exactly when str() shows "E+" (100 → 1E+2); as_tuple() is slower.
    if normalized.adjusted() > 0 and "E+" in str(normalized):
        normalized = normalized.quantize(ONE)
    return normalized


def minor_units(currency: str) -> int:
    """How many decimals the currency's smallest unit has (USD 2, JPY 0)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def round_money(value: Decimal, currency: str = "USD") -> Decimal:
    """Round an amount half-up to the currency's cents (commissions, dividend tax)."""
    quantum = _QUANTA.get(currency)
    if quantum is None:
        quantum = _QUANTA.setdefault(currency, Decimal(1).scaleb(-minor_units(currency)))
    return value.quantize(quantum, rounding=ROUND_HALF_UP, context=CONTEXT)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Floor a non-negative quantity toward zero to a multiple of `step` (step 0 = no step)."""
    if step <= 0:
        return value
    with localcontext(CONTEXT):
        return normalize((value / step).to_integral_value(rounding=ROUND_DOWN) * step)


def floor_decimals(value: Decimal, places: int = PROPOSAL_DECIMALS) -> Decimal:
    """Floor toward zero to `places` decimals (fractional-share proposals)."""
    quantum = _PROPOSAL_QUANTUM if places == PROPOSAL_DECIMALS else Decimal(1).scaleb(-places)
    return normalize(value.quantize(quantum, rounding=ROUND_DOWN, context=CONTEXT))


def round_avg_cost(value: Decimal) -> Decimal:
    """avg_cost is a quotient; it is kept to 10 decimals, half-even."""
    return normalize(value.quantize(Decimal(1).scaleb(-AVG_COST_DECIMALS), rounding=ROUND_HALF_EVEN, context=CONTEXT))


def round_ratio(value: Decimal, places: int = 6) -> Decimal:
    """Ratios shown to people (allocations, returns): half-even to `places` decimals."""
    return normalize(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=CONTEXT))


def fmt(value: Decimal | None) -> str:
    """Format a Decimal in plain positional notation; never exponent notation, never -0."""
    if value is None:
        return ""
    if value == 0:
        value = abs(value)
    return format(value, "f")


def _show(raw: str) -> str:
    """Quote a user's text for an error message, with control characters made visible."""
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    return repr(shown)
