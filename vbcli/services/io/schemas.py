"""The columns of every kind of file `vb` reads, with the names brokers and spreadsheets use.

One place, so `import trades`, `prices import`, `evaluate --all --prices` and `simulate` name
their columns the same way. A field's own name always wins over a synonym (a vb export has
both `id` and `key`: `key` is the key).
"""

from __future__ import annotations

from decimal import Decimal

from vbcli.domain.numbers import parse_decimal
from vbcli.errors import UsageError
from vbcli.services.io.columns import Field, Schema

_DATE = ("date", "trade date", "time", "date/time", "trade time", "timestamp")

TRADES = Schema(
    "position (or position_id or symbol), side, qty and price columns",
    (
        Field("position"), Field("position_id"), Field("symbol", ("ticker",)),
        Field("side", ("action", "type", "buy/sell"), required=True),
        Field("qty", ("quantity", "shares"), required=True),
        Field("price", ("trade price", "fill price", "t. price"), required=True),
        Field("commission", ("fees", "fee", "commissions", "comm/fee")),
        Field("executed_at", _DATE),
        Field("key", ("id", "trade id"), exact=True),
        Field("status"),
        Field("lots", ("lot",)),
    ),
    known=("id", "order_id", "notional", "realized_pnl", "anchor_before"),  # the rest of a trades export
    one_of=(("position", "position_id", "symbol"),),
)

QUOTES = Schema("symbol,price rows", (
    Field("symbol", ("ticker",), required=True),
    Field("price", ("close", "last", "last price"), required=True),
), known=("date", "time"))

BARS = Schema("date,price rows (or date,close)", (
    Field("date", ("time", "timestamp", "day"), required=True),
    Field("price", ("close",), required=True),
    Field("dividend", ("dividends",)),
    Field("split", ("splits", "stock splits")),
), known=("open", "high", "low", "volume", "adj close"))

PRICES = Schema("symbol, date (or time) and price (or close) columns", (
    Field("symbol", ("ticker",)),
    Field("date", ("time", "timestamp", "trade date", "date/time"), required=True),
    Field("price", ("close", "last"), required=True),
), known=("open", "high", "low", "volume", "adj close"))

SIDE_WORDS = {"buy": "buy", "bought": "buy", "sell": "sell", "sold": "sell"}


def side_word(text: str) -> str | None:
    """buy or sell from `buy`, `BUY`, `Bought`, `sell`, `Sold`…; None for anything else."""
    return SIDE_WORDS.get(text.strip().lower())


def number(text: str, *, what: str, allow_negative: bool = False, allow_zero: bool = True) -> Decimal:
    """A cell as an exact decimal; a thousands separator or decimal comma gets its own sentence."""
    if "," in text or "'" in text.strip("'") or " " in text.strip():
        raise UsageError(f"{what} {text[:40]!r} has a digit separator or a decimal comma; "
                         f"write it with a . decimal mark and no grouping (1234.5)")
    return parse_decimal(text, what=what, allow_negative=allow_negative, allow_zero=allow_zero)
