"""Split arithmetic (SPEC §8.2): quantities × NEW/OLD exactly, prices × OLD/NEW.

A quantity that NEW/OLD does not scale to a finite decimal (10 shares under 1:3) is refused:
vb pays no cash-in-lieu for fractional shares, so the user records the broker's cash-in-lieu
sale as a sell before the split and then adds the split. A price that does not scale exactly
(100 under 3:1) is rounded half-even to 12 decimals, the most a typed price may have.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, Inexact, localcontext

from vbcli.domain.facts import Split, SplitNotExact, iso
from vbcli.domain.numbers import CONTEXT, MAX_FRACTION_DIGITS, fmt, normalize

_PRICE_QUANTUM = Decimal(1).scaleb(-MAX_FRACTION_DIGITS)


def exact_scale(qty: Decimal, new: Decimal, old: Decimal) -> Decimal | None:
    """qty × NEW/OLD when it is a finite decimal, else None."""
    with localcontext(CONTEXT) as ctx:
        ctx.clear_flags()
        scaled = qty * new / old
        return None if ctx.flags[Inexact] else normalize(scaled)


def scale_qty(qty: Decimal, split: Split, *, what: str) -> Decimal:
    """qty × NEW/OLD, or SplitNotExact naming the fraction (no cash-in-lieu)."""
    scaled = exact_scale(qty, split.new, split.old)
    if scaled is None:
        raise SplitNotExact(
            f"The split {fmt(split.new)}:{fmt(split.old)} at {iso(split.at)} would leave {what} with a fraction of a share "
            f"({fmt(qty)} × {fmt(split.new)}/{fmt(split.old)}); record the cash-in-lieu as a sell before the split.",
            at=split.at, fact=split,
        )
    return scaled


def scale_price(price: Decimal, new: Decimal, old: Decimal) -> Decimal:
    """price × OLD/NEW; exact when finite, else half-even to 12 decimals."""
    with localcontext(CONTEXT) as ctx:
        ctx.clear_flags()
        scaled = price * old / new
        if ctx.flags[Inexact]:
            scaled = scaled.quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
        return normalize(scaled)


@dataclass(frozen=True)
class RescaledOrder:
    remaining_qty: Decimal
    limit: Decimal | None


def rescale_order(remaining_qty: Decimal, limit: Decimal | None, split: Split) -> RescaledOrder:
    """An open order across a split: remaining qty × NEW/OLD (exact or refused), limit × OLD/NEW."""
    qty = scale_qty(remaining_qty, split, what="an open order")
    return RescaledOrder(qty, None if limit is None else scale_price(limit, split.new, split.old))
