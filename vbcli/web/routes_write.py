"""The writing endpoints: each mirrors one `vb` command, with its request, key and transaction.

The `values` dicts are built exactly as the CLI builds them, so a key used by `vb … --key K`
and by `Idempotency-Key: K` for the same request replays across both.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from vbcli.cli.common import decimal_opt, key_opt, side_arg, time_opt
from vbcli.cli.policy_options import parse_settings
from vbcli.errors import UsageError
from vbcli.web import bodies
from vbcli.web.runs import read, write

router = APIRouter(prefix="/v1")
DryRun = Query(False, description="Show what would be written, write nothing (like --dry-run).")
Key = Header(None, alias="Idempotency-Key", description="Like --key: a retry with the same key and request writes nothing new.")


@router.post("/positions", status_code=201, summary="Open a position (vb positions add)")
def add_position(body: bodies.NewPosition, request: Request, dry_run: bool = DryRun, idempotency_key: str | None = Key) -> JSONResponse:
    from vbcli.services.ledger import positions

    parsed = parse_settings(body.raw_settings())
    values = {"symbol": body.symbol, "qty": decimal_opt(body.qty, "qty"), "cash": decimal_opt(body.cash, "cash"),
              "anchor": decimal_opt(body.anchor, "anchor", positive=True),
              "avg_cost": decimal_opt(body.avg_cost, "avg_cost", positive=True), "portfolio": body.portfolio}
    return write(request, "positions.add", {**values, "settings": parsed}, key_opt(idempotency_key), dry_run,
                 lambda s: positions.add(s, settings=parsed, **values))


@router.post("/positions/{pos}/orders", status_code=201, summary="Place an order (vb orders place)")
def place_order(pos: str, body: bodies.NewOrder, request: Request, dry_run: bool = DryRun, idempotency_key: str | None = Key) -> JSONResponse:
    from vbcli.services.ledger import orders

    values = {"ref": pos, "side": side_arg(body.side), "qty": decimal_opt(body.qty, "qty", positive=True),
              "limit": decimal_opt(body.limit, "limit", positive=True), "note": body.note, "force": body.force}
    key = key_opt(idempotency_key)
    return write(request, "orders.place", values, key, dry_run, lambda s: orders.place(s, key=key, **values))


@router.post("/orders/{order}/fill", status_code=201, summary="Fill an order (vb orders fill); answers the trade")
def fill_order(order: str, body: bodies.Fill, request: Request, dry_run: bool = DryRun, idempotency_key: str | None = Key) -> JSONResponse:
    from vbcli.services.ledger import trades

    values = {"ref": order, "price": decimal_opt(body.price, "price", positive=True),
              "qty": decimal_opt(body.qty, "qty", positive=True), "commission": decimal_opt(body.commission, "commission"),
              "at": time_opt(body.at, "at")}
    key = key_opt(idempotency_key)
    return write(request, "orders.fill", {**values, "at": body.at}, key, dry_run,
                 lambda s: trades.fill(s, key=key, **values))


@router.post("/orders/{order}/cancel", summary="Cancel an order (vb orders cancel)")
def cancel_order(order: str, request: Request, dry_run: bool = DryRun, idempotency_key: str | None = Key) -> JSONResponse:
    from vbcli.services.ledger import orders

    return write(request, "orders.cancel", {"order": order}, key_opt(idempotency_key), dry_run,
                 lambda s: orders.cancel(s, ref=order), status=200)


@router.post("/positions/{pos}/trades", status_code=201, summary="Record a fill that happened (vb trades add)")
def add_trade(pos: str, body: bodies.NewTrade, request: Request, dry_run: bool = DryRun, idempotency_key: str | None = Key) -> JSONResponse:
    from vbcli.services.ledger import trades

    values = {"ref": pos, "side": side_arg(body.side), "qty": decimal_opt(body.qty, "qty", positive=True),
              "price": decimal_opt(body.price, "price", positive=True),
              "commission": decimal_opt(body.commission, "commission"), "at": time_opt(body.at, "at")}
    key = key_opt(idempotency_key)
    return write(request, "trades.add", {**values, "at": body.at}, key, dry_run,
                 lambda s: trades.add(s, key=key, **values))


@router.post("/positions/{pos}/evaluate", summary="What the rule says at a price (vb evaluate), optionally placed")
def evaluate(pos: str, body: bodies.Evaluate, request: Request, dry_run: bool = DryRun, idempotency_key: str | None = Key) -> JSONResponse:
    from vbcli.services.ledger import evaluate as service

    if body.fill and not body.place:
        raise UsageError("fill needs place: the order must be placed before it can be filled.")
    price = decimal_opt(body.price, "price", positive=True)
    assert price is not None
    key = key_opt(idempotency_key)
    if not body.place:
        return read(request, lambda s: service.evaluate_one(s, ref=pos, price=price))
    values: dict[str, Any] = {"pos": pos, "price": price, "fill": body.fill}
    return write(request, "evaluate", values, key, dry_run,
                 lambda s: service.place_one(s, ref=pos, price=price, fill=body.fill, key=key), status=200)
