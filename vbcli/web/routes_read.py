"""The reading endpoints: the CLI's listings and shows, its filters as query parameters."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from vbcli.cli.common import decimal_opt, side_arg, time_opt
from vbcli.errors import UsageError
from vbcli.web.runs import read

router = APIRouter(prefix="/v1")

Limit = Query(None, ge=1, le=1_000_000_000, description="At most this many rows (like --limit).")
Since = Query(None, max_length=60, description="From this date or time, inclusive (2026-01-01, RFC 3339, now, today).")
Until = Query(None, max_length=60, description="Up to this date or time, inclusive.")
Portfolio = Query(None, max_length=200, description="Portfolio name.")
Side = Query(None, max_length=10, description="buy or sell.")
ORDER_STATUSES = ("open", "partially_filled", "filled", "cancelled")


@router.get("/positions", summary="List positions (vb positions list)")
def list_positions(request: Request, portfolio: str | None = Portfolio, status: str = Query("open", max_length=10)) -> JSONResponse:
    from vbcli.services.ledger import positions

    if status not in ("open", "closed", "all"):
        raise UsageError(f"status must be open, closed or all, not {status[:20]!r}.")
    return read(request, lambda s: positions.list_all(s, portfolio=portfolio, status=status))


@router.get("/positions/{pos}", summary="Show a position (vb positions show [--price])")
def show_position(pos: str, request: Request, price: str | None = Query(None, max_length=40)) -> JSONResponse:
    from vbcli.services.ledger import positions

    at = decimal_opt(price, "price", positive=True)
    return read(request, lambda s: positions.show(s, ref=pos, price=at))


def _trades(request: Request, **filters: object) -> JSONResponse:
    from vbcli.services.ledger import trades

    side = filters.pop("side")
    filters.update(side=side_arg(side) if side else None,  # type: ignore[arg-type]
                   since=time_opt(filters.pop("since"), "since"),  # type: ignore[arg-type]
                   until=time_opt(filters.pop("until"), "until", end_of_day=True))  # type: ignore[arg-type]
    return read(request, lambda s: trades.list_trades(s, **filters))  # type: ignore[arg-type]


@router.get("/positions/{pos}/trades", summary="A position's trades, newest first (the seed's endpoint)")
def position_trades(pos: str, request: Request, order: str | None = Query(None, max_length=60), side: str | None = Side,
                    since: str | None = Since, until: str | None = Until, limit: int | None = Limit) -> JSONResponse:
    return _trades(request, ref=pos, order=order, portfolio=None, side=side, since=since, until=until, limit=limit)


@router.get("/orders/{order}/trades", summary="An order's trades, newest first (the seed's endpoint)")
def order_trades(order: str, request: Request, side: str | None = Side, since: str | None = Since,
                 until: str | None = Until, limit: int | None = Limit) -> JSONResponse:
    return _trades(request, ref=None, order=order, portfolio=None, side=side, since=since, until=until, limit=limit)


@router.get("/trades", summary="List trades, newest first (vb trades list)")
def list_trades(request: Request, position: str | None = Query(None, max_length=260), order: str | None = Query(None, max_length=60),
                portfolio: str | None = Portfolio, side: str | None = Side, since: str | None = Since,
                until: str | None = Until, limit: int | None = Limit) -> JSONResponse:
    return _trades(request, ref=position, order=order, portfolio=portfolio, side=side, since=since, until=until, limit=limit)


@router.get("/trades/{trade}", summary="Show a trade (vb trades show)")
def show_trade(trade: str, request: Request) -> JSONResponse:
    from vbcli.services.ledger import trades

    return read(request, lambda s: trades.show(s, ref=trade))


@router.get("/orders", summary="List orders, newest first (vb orders list)")
def list_orders(request: Request, position: str | None = Query(None, max_length=260),
                status: str | None = Query(None, max_length=20), limit: int | None = Limit) -> JSONResponse:
    from vbcli.services.ledger import orders

    if status is not None and status not in ORDER_STATUSES:
        raise UsageError(f"status must be one of {', '.join(ORDER_STATUSES)}, not {status[:20]!r}.")
    return read(request, lambda s: orders.list_orders(s, ref=position, status=status, limit=limit))


@router.get("/orders/{order}", summary="Show an order (vb orders show)")
def show_order(order: str, request: Request) -> JSONResponse:
    from vbcli.services.ledger import orders

    return read(request, lambda s: orders.show(s, ref=order))


@router.get("/events", summary="The audit trail, newest first (vb events list)")
def list_events(request: Request, position: str | None = Query(None, max_length=260),
                type: str | None = Query(None, max_length=60), since: str | None = Since, until: str | None = Until,
                limit: int | None = Limit) -> JSONResponse:
    from vbcli.services.ledger import events

    filters = {"ref": position, "type": type, "since": time_opt(since, "since"),
               "until": time_opt(until, "until", end_of_day=True), "limit": limit}
    return read(request, lambda s: events.list_events(s, **filters))  # type: ignore[arg-type]
