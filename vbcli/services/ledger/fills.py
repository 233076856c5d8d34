"""The one write path of fills (SPEC §8.1) for `orders fill`, `trades add`, `evaluate --fill` and
`vb import trades`: a fill becomes a `Fill` fact, the position is re-derived with it
(services/ledger/timeline), and its trade row is built from the replay's outcome by
services/shared/builders, like its order and events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from vbcli.domain.facts import OPENING_LOT, Fill, LotPick, iso
from vbcli.domain.picks import to_text
from vbcli.domain.timeline import FillOutcome
from vbcli.errors import Conflict, UsageError
from vbcli.services.shared import builders
from vbcli.store.history import fill_fact, opened_at

Typed = list[tuple[str, Decimal | None]]  # lots as typed: (TRADE or a prefix, QTY or None)

FUTURE_SLACK = timedelta(minutes=5)  # clocks differ; a fill further ahead is a typing error


@dataclass(frozen=True)
class NewFill:
    """A fill to record: the order it fills and the fact it becomes."""

    order_id: str
    fact: Fill
    key: str | None = None


def check_time(position: Any, at: datetime, now: datetime, *, order_created: datetime | None = None) -> None:
    """A fill more than 5 minutes ahead, before its position's opening or its order, is a usage error (exit 2)."""
    if at > now + FUTURE_SLACK:
        raise UsageError(f"The fill time {iso(at)} is in the future; give the time it was executed (at most 5 minutes ahead).")
    if at < opened_at(position):
        raise UsageError(f"The fill time {iso(at)} is before the {position.symbol} position was opened ({iso(opened_at(position))}); "
                         "open it with `positions add --at` or fix the time.")
    if order_created is not None and at < order_created:
        raise UsageError(f"The fill time {iso(at)} is before its order was placed ({iso(order_created)}).")


def new_fill(order_id: str, trade_id: str, side: str, qty: Decimal, price: Decimal, commission: Decimal, at: datetime,
             key: str | None = None, lots: tuple[LotPick, ...] = ()) -> NewFill:
    return NewFill(order_id, fill_fact(trade_id, side, qty, price, commission, at, lots=lots), key)


def resolve_picks(find_trade: Callable[[str], Any], side: str, typed: Typed | None) -> tuple[LotPick, ...]:
    """Named lots with full trade ids (`find_trade(ref)` resolves an id or prefix: exit 3 or 4).

    Whether each lot is open, of this position and large enough is the replay's check (exit 4).
    """
    if not typed:
        return ()
    if side != "sell":
        raise UsageError("Only a sell names lots; a buy opens its own lot.")
    return tuple(LotPick(_lot_id(find_trade, ref), qty) for ref, qty in typed)


def _lot_id(find_trade: Callable[[str], Any], ref: str) -> str:
    if ref == OPENING_LOT:
        return ref
    trade = find_trade(ref)
    if trade.status == "voided":
        raise Conflict(f"Trade {trade.id} is voided; it opened no lot.")
    return str(trade.id)


def trade_row(fill: NewFill, position: Any, outcome: FillOutcome, now: datetime) -> dict[str, Any]:
    """Every column of the trade row of a new fill, with the figures its replay gave."""
    f = fill.fact
    anchor_before = outcome.anchor_before if outcome.anchor_before > 0 else None
    return builders.trade_row(trade_id=f.trade_id, order_id=fill.order_id, position_id=position.id, symbol=position.symbol,
                              side=f.side, qty=f.qty, price=f.price, commission=f.commission, notional=outcome.notional,
                              cash_amount=outcome.cash_amount, realized_pnl=outcome.realized_pnl, anchor_before=anchor_before,
                              executed_at=f.at, key=fill.key, now=now, lots=to_text(f.lots))
