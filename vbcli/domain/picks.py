"""Named lots of a sell (specific identification, SPEC §8.3) as typed and as stored.

Typed: `--lot TRADE[:QTY]`, repeatable; in an import file one cell `trd_a:3;trd_b:2`.
Stored: the trade's `lots` column in the same `;`-separated form with full lot ids.
"""

from __future__ import annotations

from decimal import Decimal

from vbcli.domain.facts import LotPick
from vbcli.domain.numbers import fmt, parse_positive
from vbcli.errors import UsageError

SEPARATOR = ";"


def parse_pick(text: str, *, what: str = "--lot") -> tuple[str, Decimal | None]:
    """`TRADE[:QTY]` → (the lot reference as typed, its quantity or None); exit 2 when malformed."""
    ref, colon, qty = text.strip().partition(":")
    ref = ref.strip()
    if not ref:
        raise UsageError(f"{what} {text[:40]!r} names no lot; give TRADE[:QTY], e.g. trd_01jd8x:5.")
    return ref, parse_positive(qty.strip(), what=f"The quantity of {what} {ref[:40]}") if colon else None


def parse_cell(text: str | None, *, what: str = "lots") -> list[tuple[str, Decimal | None]]:
    """An import cell `trd_a:3;trd_b:2` (empty: no named lots)."""
    if text is None or not text.strip():
        return []
    return [parse_pick(part, what=what) for part in text.split(SEPARATOR) if part.strip()]


def to_text(picks: tuple[LotPick, ...] | list[LotPick]) -> str | None:
    """The stored form of resolved picks (None when the sell names no lot)."""
    if not picks:
        return None
    return SEPARATOR.join(pick.lot_id if pick.qty is None else f"{pick.lot_id}:{fmt(pick.qty)}" for pick in picks)


def from_text(text: str | None) -> tuple[LotPick, ...]:
    """The picks of a stored `lots` column."""
    if not text:
        return ()
    picks = []
    for part in text.split(SEPARATOR):
        lot_id, colon, qty = part.partition(":")
        picks.append(LotPick(lot_id, Decimal(qty) if colon else None))
    return tuple(picks)
