"""The one write path of fills: rows and events built by the same functions for `orders fill`,
`trades add`, `evaluate --fill` and `vb import trades` (SPEC §8.1).

A fill becomes a `Fill` fact, the position is re-derived with it (services/ledger/timeline),
and the trade row and its events are built from the replay's outcome. Values in the trade row
are Python values (Decimal, datetime); event data is JSON-ready text, so the single path
(audit.record_event) and the bulk path (bulk.EventChain) hash exactly the same payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from vbcli.domain.facts import Fill, iso
from vbcli.domain.numbers import fmt
from vbcli.domain.timeline import FillOutcome
from vbcli.domain.timeparse import rfc3339
from vbcli.errors import UsageError
from vbcli.services.shared.views import TRADE_FIELDS
from vbcli.store.history import fill_fact, opened_at

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
             key: str | None = None) -> NewFill:
    return NewFill(order_id, fill_fact(trade_id, side, qty, price, commission, at), key)


def _json(value: Decimal | None) -> str | None:
    return None if value is None else fmt(value)


def trade_row(fill: NewFill, position: Any, outcome: FillOutcome, anchor_before: Decimal | None, now: datetime) -> dict[str, Any]:
    """Every column of the trade row."""
    f = fill.fact
    return {"id": f.trade_id, "order_id": fill.order_id, "position_id": position.id, "symbol": position.symbol, "side": f.side,
            "qty": f.qty, "price": f.price, "commission": f.commission, "notional": outcome.notional,
            "cash_amount": outcome.cash_amount, "realized_pnl": outcome.realized_pnl, "anchor_before": anchor_before,
            "executed_at": f.at, "status": "executed", "key": fill.key, "void_reason": "", "voided_at": None, "created_at": now}


def trade_json(row: dict[str, Any]) -> dict[str, Any]:
    """The trade view (SPEC §7) of a trade row, JSON-ready (what audit.to_json_value makes of trade_view)."""
    out: dict[str, Any] = {}
    for name in TRADE_FIELDS:
        value = row[name]
        out[name] = fmt(value) if isinstance(value, Decimal) else rfc3339(value) if isinstance(value, datetime) else value
    return out


def fill_events(view: dict[str, Any], after: tuple[Decimal, Decimal], ts: datetime) -> list[dict[str, Any]]:
    """order_filled (the trade, and qty and cash right after it on the timeline) and anchor_updated."""
    side, qty, symbol, price = view["side"], view["qty"], view["symbol"], view["price"]
    ids = {"position_id": view["position_id"], "order_id": view["order_id"], "trade_id": view["id"]}
    return [
        {"type": "order_filled", "message": f"{side} {qty} {symbol} at {price}", **ids, "ts": ts,
         "data": {"trade": view, "qty_after": fmt(after[0]), "cash_after": fmt(after[1])}},
        {"type": "anchor_updated", "message": f"{symbol} anchor {fmt(_dec(view['anchor_before']))} → {price}",
         "position_id": view["position_id"], "trade_id": view["id"], "ts": ts,
         "data": {"old": view["anchor_before"], "new": price, "cause": "fill", "at": view["executed_at"]}},
    ]


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def order_placed_spec(order: dict[str, Any], symbol: str, ts: datetime, *, forced: bool = False,
                      overridden: str | None = None) -> dict[str, Any]:
    """The order_placed event of an order row (`create_order` and the bulk import alike)."""
    data: dict[str, Any] = {"side": order["side"], "qty": fmt(order["qty"]), "limit": _json(order["limit_price"]),
                            "source": order["source"]}
    if forced:
        data.update(forced=True, overridden=overridden)
    return {"type": "order_placed", "message": f"{order['side']} {fmt(order['qty'])} {symbol}" + (" (forced)" if forced else ""),
            "position_id": order["position_id"], "order_id": order["id"], "ts": ts, "data": data}
