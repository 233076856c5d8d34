"""The reading half of `vb import trades`: a row of the reader (schemas.TRADES) → a `Fill`.

The writing half (importing.py) takes these fills as they are; a row that cannot be a fill
raises UsageError with the reason, which the importer reports as `FILE:LINE: reason`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from vbcli.domain.picks import parse_cell
from vbcli.domain.timeparse import parse_time
from vbcli.errors import UsageError
from vbcli.services.io.schemas import number, side_word

MAX_KEY = 200


@dataclass
class Fill:
    """One past fill read from a file, at its line."""

    line: int
    ref: str
    side: str
    qty: Decimal
    price: Decimal
    commission: Decimal | None
    at: datetime | None
    key: str | None
    lots: list[tuple[str, Decimal | None]] | None = None  # a sell's named lots as typed (`trd_a:3;trd_b:2`)


@functools.lru_cache(maxsize=4096)
def _positive(text: str, what: str) -> Decimal:
    if not text:
        raise UsageError(f"{what} is missing")
    return number(text, what=what, allow_zero=False)  # errors are raised, never cached


@functools.lru_cache(maxsize=4096)
def _decimal(text: str, what: str) -> Decimal:
    return number(text, what=what)


def parse_fill(line: int, row: dict[str, str]) -> Fill | None:
    """One row as a fill (None for a voided row of an export); raises UsageError with the reason."""
    if row.get("status", "").lower() not in ("", "executed"):
        return None
    ref = row.get("position") or row.get("position_id") or row.get("symbol") or ""
    if not ref:
        raise UsageError("no position, position_id or symbol")
    side = side_word(row.get("side", ""))
    if side is None:
        raise UsageError(f"side must be buy or sell (or BUY, Bought, SELL, Sold), not {row.get('side', '')[:20]!r}")
    commission = row.get("commission", "")
    at = row.get("executed_at", "")
    lots = parse_cell(row.get("lots"), what="lots") or None
    if lots and side != "sell":
        raise UsageError("lots are named on sells only; a buy opens its own lot")
    return Fill(line, ref, side, _positive(row.get("qty", ""), "qty"), _positive(row.get("price", ""), "price"),
                _decimal(commission, "commission") if commission else None,
                parse_time(at, what="executed_at") if at else None, _key(row.get("key", "")), lots)


def _key(text: str) -> str | None:
    """The row's idempotency key, checked like `--key` (the reader already refused control characters)."""
    if not text.strip():
        return None
    if len(text) > MAX_KEY:
        raise UsageError(f"key is longer than {MAX_KEY} characters")
    return text
