"""Rows as plain data in the field order of SPEC §7 (Decimals and datetimes kept as such)."""

from __future__ import annotations

import json
from typing import Any

from vbcli.domain.policy import GUARDRAIL_FIELDS, POLICY_FIELDS, Guardrails, OrderPolicy
from vbcli.domain.rule import PositionState
from vbcli.store.tables import Dividend, Event, Order, Portfolio, Position, Trade


def portfolio_view(row: Portfolio, positions: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "currency": row.currency,
        "description": row.description,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if positions is not None:
        view["positions"] = positions
    view["cost_basis"] = row.cost_basis or "average"  # added in revision 2: after the fields scripts already read
    return view


def policy_of(row: Position) -> OrderPolicy:
    return OrderPolicy(**{name: getattr(row, name) for name in POLICY_FIELDS})


def guardrails_of(row: Position) -> Guardrails:
    return Guardrails(**{name: getattr(row, name) for name in GUARDRAIL_FIELDS})


def state_of(row: Position) -> PositionState:
    return PositionState(qty=row.qty, cash=row.cash, receivable=row.dividend_receivable, anchor=row.anchor)


def position_view(row: Position, portfolio_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "portfolio": portfolio_name,
        "symbol": row.symbol,
        "status": row.status,
        "qty": row.qty,
        "cash": row.cash,
        "anchor": row.anchor,
        "avg_cost": row.avg_cost,
        "dividend_receivable": row.dividend_receivable,
        "realized_pnl": row.realized_pnl,
        "total_commission": row.total_commission,
        "total_dividends": row.total_dividends,
        "order_policy": policy_of(row).to_dict(),
        "guardrails": guardrails_of(row).to_dict(),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def order_view(row: Order, symbol: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "position_id": row.position_id,
        "symbol": symbol,
        "side": row.side,
        "qty": row.qty,
        "limit": row.limit_price,
        "status": row.status,
        "filled_qty": row.filled_qty,
        "avg_fill_price": row.avg_fill_price,
        "commission_rate": row.commission_rate,
        "key": row.key,
        "note": row.note,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


TRADE_FIELDS = (
    "id", "order_id", "position_id", "symbol", "side", "qty", "price", "commission", "executed_at",
    "notional", "realized_pnl", "anchor_before", "status", "key",
)


def trade_view(row: Trade | dict[str, Any]) -> dict[str, Any]:
    """Trade fields (of a row object or a row dict); the first nine are the trades CSV's fixed leading columns (SPEC §5)."""
    if isinstance(row, dict):
        return {name: row[name] for name in TRADE_FIELDS}
    return {name: getattr(row, name) for name in TRADE_FIELDS}


def event_view(row: Event) -> dict[str, Any]:
    return {
        "id": row.id,
        "ts": row.ts,
        "type": row.type,
        "position_id": row.position_id,
        "order_id": row.order_id,
        "trade_id": row.trade_id,
        "message": row.message,
        "data": json.loads(row.data) if row.data else {},
    }


def dividend_view(row: Dividend) -> dict[str, Any]:
    return {
        "id": row.id,
        "position_id": row.position_id,
        "per_share": row.per_share,
        "ex_date": row.ex_date,
        "pay_date": row.pay_date,
        "withholding": row.withholding,
        "gross": row.gross,
        "tax": row.tax,
        "net": row.net,
        "status": row.status,
    }
