"""A position's value after each fill, walked back from its present state (pure).

From the newest fill back, each fill is undone with the ledger's own `reverse_fill`, so the
state after every fill is known exactly; value = qty·price + cash + receivable at that fill.
Cash moved by deposits, withdrawals and dividends between fills is not in the trades list:
the walk counts it as if it had always been there (the series shows what the fills did).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from vbcli.domain.accounting import Holdings, reverse_fill
from vbcli.domain.numbers import ZERO, normalize
from vbcli.errors import VbError


def field(row: Any, name: str) -> Any:
    """A field of a service result, whether a dict or (soon) a frozen dataclass."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


def value_series(qty: Decimal, cash: Decimal, receivable: Decimal, trades_newest_first: Iterable[Any]) -> list[dict[str, Any]]:
    """Points oldest first: {at, trade_id, side, price, qty, cash, value} after each executed fill."""
    holdings = Holdings(qty, cash, None, ZERO, ZERO)
    points: list[dict[str, Any]] = []
    for trade in trades_newest_first:
        if field(trade, "status") != "executed":
            continue
        price = field(trade, "price")
        points.append({"at": field(trade, "executed_at"), "trade_id": field(trade, "id"), "side": field(trade, "side"),
                       "price": price, "qty": holdings.qty, "cash": holdings.cash,
                       "value": normalize(holdings.qty * price + holdings.cash + receivable)})
        try:
            holdings = reverse_fill(holdings, field(trade, "side"), field(trade, "qty"), price,
                                    field(trade, "commission"), field(trade, "realized_pnl"))
        except VbError:
            break  # cash flows between fills make an earlier state unknowable from fills alone
    points.reverse()
    return points
