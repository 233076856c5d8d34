"""A table design per noun for a terminal: which columns, how each is written, which go first.

`drop` is the order columns leave a narrow terminal in (higher first, 0 = never).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

ID, TEXT, CUT, MONEY, PRICE, QTY, PCT, TIME, DATE, POSITION, NUMBER = (
    "id", "text", "cut", "money", "price", "qty", "pct", "time", "date", "position", "number")
NUMERIC = (MONEY, PRICE, QTY, PCT, NUMBER)


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    kind: str = TEXT
    drop: int = 0
    min_width: int = 12  # a cut text column is never narrower
    quiet: str = ""  # the usual value, left blank so the unusual ones stand out


DESIGNS: dict[str, list[Col]] = {
    "positions": [
        Col("symbol", "position", POSITION), Col("qty", "qty", QTY), Col("cash", "cash", MONEY),
        Col("anchor", "anchor", PRICE, 3), Col("avg_cost", "avg cost", PRICE, 4), Col("realized_pnl", "realized", MONEY, 2),
        Col("status", "status", TEXT, 2, quiet="open"), Col("id", "id", ID),
    ],
    "orders": [
        Col("id", "id", ID), Col("symbol", "position", POSITION), Col("side", "side"), Col("qty", "qty", QTY),
        Col("limit", "limit", PRICE, 2), Col("status", "status"), Col("filled_qty", "filled", QTY, 4),
        Col("avg_fill_price", "avg fill", PRICE, 5), Col("created_at", "created", TIME, 3),
    ],
    "trades": [
        Col("executed_at", "executed", TIME), Col("symbol", "position", POSITION), Col("side", "side"),
        Col("qty", "qty", QTY), Col("price", "price", PRICE), Col("commission", "comm.", MONEY, 4),
        Col("realized_pnl", "realized", MONEY, 3), Col("status", "status", TEXT, 2, quiet="executed"), Col("id", "id", ID),
    ],
    "evaluations": [
        Col("symbol", "position", POSITION), Col("action", "action"), Col("qty", "qty", QTY), Col("price", "price", PRICE),
        Col("notional", "notional", MONEY, 3), Col("commission", "comm.", MONEY, 4), Col("order_id", "order", ID, 2),
        Col("reason", "reason", CUT, 0, 16),
    ],
    "dividends": [
        Col("id", "id", ID), Col("symbol", "position", POSITION), Col("per_share", "per share", PRICE),
        Col("ex_date", "ex-date", DATE), Col("pay_date", "pay date", DATE, 3), Col("qty", "qty", QTY, 5),
        Col("gross", "gross", MONEY, 4), Col("tax", "tax", MONEY, 6), Col("net", "net", MONEY), Col("status", "status"),
        Col("done", "done", TEXT, 2),
    ],
    "events": [
        Col("ts", "time", TIME), Col("type", "type"), Col("message", "message", CUT, 0, 20),
        Col("position_id", "position", POSITION, 2), Col("id", "id", ID, 3),
    ],
    "portfolios": [
        Col("name", "name"), Col("currency", "ccy"), Col("positions", "positions", QTY), Col("cost_basis", "basis", TEXT, 3),
        Col("description", "description", CUT, 2, 12), Col("id", "id", ID),
    ],
    "lots": [
        Col("lot_trade_id", "lot", ID), Col("acquired_at", "acquired", TIME), Col("qty", "qty", QTY),
        Col("cost_per_share", "cost/share", PRICE, 3), Col("cost", "cost", MONEY), Col("price", "price", PRICE, 4),
        Col("unrealized_pnl", "unrealized", MONEY, 2),
    ],
    "gains": [
        Col("sold_at", "sold", TIME), Col("symbol", "position", POSITION), Col("qty", "qty", QTY),
        Col("acquired_at", "acquired", TIME, 3), Col("proceeds", "proceeds", MONEY, 4), Col("cost", "cost", MONEY, 5),
        Col("gain", "gain", MONEY), Col("term", "term"), Col("lot_trade_id", "lot", ID, 2), Col("sell_trade_id", "sell", ID, 6),
    ],
}
DESIGNS["dividends processed"] = DESIGNS["dividends"]

# positions show (and every record with these keys): sections in this order, the rest last.
SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("Position", ("id", "portfolio", "symbol", "status", "created_at", "updated_at")),
    ("Holdings", ("qty", "cash", "anchor", "avg_cost", "dividend_receivable", "realized_pnl", "total_commission",
                  "total_dividends")),
    ("Order policy", ("order_policy",)),
    ("Guardrails", ("guardrails",)),
    ("At the price", ("price", "stock_value", "total_value", "stock_alloc", "unrealized_pnl", "sell_trigger_price",
                      "buy_trigger_price", "change", "price_at")),
]

def _words(*words: str) -> re.Pattern[str]:
    return re.compile(r"(^|_)(" + "|".join(words) + r")($|_)")


_PCT_KEYS = _words("alloc", "rate", "trigger", "reset", "withholding", "max_trade", "change", "return", "drawdown")
_PRICE_KEYS = _words("anchor", "avg_cost", "price", "limit", "per_share", "close")
_MONEY_KEYS = _words("cash", "pnl", "commission", "notional", "value", "receivable", "dividends", "gross", "tax", "net",
                     "proceeds", "cost", "gain", "amount")
_QTY_KEYS = _words("qty", "lot_size", "step", "count", "positions", "orders")


def kind_of(key: str, value: object) -> str:
    """How a field is written when no design names it (records, other listings)."""
    if key == "id" or key.endswith("_id"):
        return ID
    if key.endswith("_at") or key == "ts":
        return TIME
    if key.endswith("_date") or key == "date":
        return DATE
    if key == "rebalance_ratio":
        return QTY
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        if key.endswith("price"):
            return PRICE
        for pattern, kind in ((_PCT_KEYS, PCT), (_PRICE_KEYS, PRICE), (_MONEY_KEYS, MONEY), (_QTY_KEYS, QTY)):
            if pattern.search(key):
                return kind
        return QTY
    return TEXT


def generic(columns: list[str], sample: dict[str, object]) -> list[Col]:
    """A design for a listing that has none: ids and times by name, numbers right-aligned as they are
    (its rows may mix meanings, as a summary of metrics does)."""
    def kind(name: str) -> str:
        guessed = kind_of(name, sample.get(name))
        return guessed if guessed in (ID, TIME, DATE, TEXT) else NUMBER
    return [Col(name, name.replace("_", " "), kind(name)) for name in columns]
