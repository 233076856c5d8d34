"""The latest known price of a position, for the dashboard.

For now the last executed fill's price (fills are price observations, SPEC §8.4). When
stored prices (`vb prices`) land, switch this one function to "the latest stored price or
fill, whichever is newer"; its callers need only `(price, price_at, source)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from vbcli.web.history import field


@dataclass(frozen=True)
class KnownPrice:
    price: Decimal
    at: datetime
    source: str  # "fill" now; "stored" once prices are kept


def latest_price(session: Session, position_id: str) -> KnownPrice | None:
    """The newest executed fill's price of the position, or None when it has none."""
    from vbcli.services.ledger import trades

    for row in trades.list_trades(session, ref=position_id, limit=20):
        if field(row, "status") == "executed":
            return KnownPrice(field(row, "price"), field(row, "executed_at"), "fill")
    return None
