"""What a terminal table needs besides its rows: each position's portfolio and currency, known ids."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from vbcli.store.tables import Dividend, Order, Portfolio, Position, Trade

_MODELS = {"positions": Position, "orders": Order, "trades": Trade, "dividends": Dividend}


def labels(session: Session, noun: str | None = None) -> dict[str, Any]:
    """{"positions": {id: (portfolio, symbol, currency)}, "currencies": {portfolio: currency}, "ids": [...]}.

    `ids` are every stored id of `noun`, so a shown prefix is unique in the ledger, not only on screen.
    """
    currencies = dict(session.exec(select(Portfolio.name, Portfolio.currency)).all())
    query = select(Position.id, Portfolio.name, Position.symbol, Portfolio.currency).join(
        Portfolio, Position.portfolio_id == Portfolio.id)  # type: ignore[arg-type]
    positions = {pid: (name, symbol, currency) for pid, name, symbol, currency in session.exec(query).all()}
    model = _MODELS.get(noun or "")
    ids = list(session.exec(select(model.id)).all()) if model is not None else []  # type: ignore[attr-defined]
    return {"positions": positions, "currencies": currencies, "ids": ids}
