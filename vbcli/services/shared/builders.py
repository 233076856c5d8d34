"""One builder per row and per event of an order and its fill, used by the single commands
(`orders place`, `trades add`, `orders fill`, `evaluate --fill`) and by `vb import trades` alike,
so a bulk import can never drift from `trades add`.

Rows are dicts of every column with typed values (Decimal, datetime); event specs are the
keyword arguments of `audit.record_event` (type, message, ids, data, ts).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from vbcli.domain.numbers import ZERO, fmt


def order_row(*, order_id: str, position_id: str, side: str, qty: Decimal, limit: Decimal | None, commission_rate: Decimal,
              key: str | None, note: str, forced: bool, source: str, now: datetime, status: str = "open",
              filled_qty: Decimal = ZERO, avg_fill_price: Decimal | None = None) -> dict[str, Any]:
    """Every column of an orders row."""
    return {"id": order_id, "position_id": position_id, "side": side, "qty": qty, "limit_price": limit, "status": status,
            "filled_qty": filled_qty, "avg_fill_price": avg_fill_price, "commission_rate": commission_rate, "key": key,
            "note": note, "forced": forced, "source": source, "created_at": now, "updated_at": now}


def trade_row(*, trade_id: str, order_id: str, position_id: str, symbol: str, side: str, qty: Decimal, price: Decimal,
              commission: Decimal, notional: Decimal, realized_pnl: Decimal, anchor_before: Decimal | None,
              executed_at: datetime, key: str | None, now: datetime, cash_amount: Decimal | None = None,
              lots: str | None = None) -> dict[str, Any]:
    """Every column of a trades row (a new fill: executed, not voided); cash_amount is the cash it moved (SPEC §3),
    lots the lots a sell names (domain/picks)."""
    return {"id": trade_id, "order_id": order_id, "position_id": position_id, "symbol": symbol, "side": side, "qty": qty,
            "price": price, "commission": commission, "notional": notional,
            "cash_amount": notional if cash_amount is None else cash_amount, "realized_pnl": realized_pnl,
            "anchor_before": anchor_before, "executed_at": executed_at, "status": "executed", "key": key,
            "void_reason": "", "voided_at": None, "created_at": now, "lots": lots}


def order_placed(*, symbol: str, position_id: str, order_id: str, side: str, qty: Decimal, limit: Decimal | None,
                 source: str, forced: bool = False, overridden: str | None = None, ts: datetime | None = None) -> dict[str, Any]:
    """The order_placed event."""
    data: dict[str, Any] = {"side": side, "qty": qty, "limit": limit, "source": source}
    if forced:
        data.update(forced=True, overridden=overridden)
    return {"type": "order_placed", "message": f"{side} {fmt(qty)} {symbol}" + (" (forced)" if forced else ""),
            "position_id": position_id, "order_id": order_id, "data": data, "ts": ts}


def fill_events(*, symbol: str, trade: dict[str, Any], qty_after: Decimal, cash_after: Decimal,
                ts: datetime | None = None) -> list[dict[str, Any]]:
    """order_filled and anchor_updated for a fill; `trade` is its trade view."""
    side, qty, price, anchor_before = trade["side"], trade["qty"], trade["price"], trade["anchor_before"]
    ids = {"position_id": trade["position_id"], "trade_id": trade["id"], "ts": ts}
    return [
        {"type": "order_filled", "message": f"{side} {fmt(qty)} {symbol} at {fmt(price)}", "order_id": trade["order_id"], **ids,
         "data": {"trade": trade, "qty_after": qty_after, "cash_after": cash_after}},
        {"type": "anchor_updated", "message": f"{symbol} anchor {fmt(anchor_before)} → {fmt(price)}", **ids,
         "data": {"old": anchor_before, "new": price, "cause": "fill"}},
    ]
