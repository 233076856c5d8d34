"""The dashboard: the page at `/` and the two summaries it draws from.

The page is one HTML file with its CSS and JavaScript inlined from `static/` (shipped in the
package, no build step); its Content-Security-Policy allows only those exact scripts and
styles and requests to this server, so it can reach no other host.
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session

from vbcli.domain.numbers import round_ratio
from vbcli.web.history import field, value_series
from vbcli.web.prices import latest_price
from vbcli.web.runs import read

router = APIRouter()


@cache
def page() -> tuple[str, str]:
    """(the page's HTML, its Content-Security-Policy)."""
    files = resources.files("vbcli.web") / "static"
    html = (files / "index.html").read_text(encoding="utf-8")
    css = (files / "dashboard.css").read_text(encoding="utf-8")
    js = (files / "dashboard.js").read_text(encoding="utf-8")

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"

    html = html.replace("<!--STYLE-->", f"<style>{css}</style>").replace("<!--SCRIPT-->", f"<script>{js}</script>")
    policy = (f"default-src 'none'; script-src {digest(js)}; style-src {digest(css)}; connect-src 'self'; "
              "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return html, policy


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page() -> HTMLResponse:
    html, policy = page()
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


def _distance(target: Decimal | None, price: Decimal) -> Decimal | None:
    return None if target is None else round_ratio(target / price - 1, 6)


def summary(session: Session) -> list[dict[str, Any]]:
    """Every open position valued at its latest known price, with the distance to each trigger."""
    from vbcli.services.ledger import positions

    rows = []
    for view in positions.list_all(session, status="open"):
        known = latest_price(session, field(view, "id"))
        row: dict[str, Any] = {"position": view, "price": None, "price_at": None, "price_source": None}
        if known is not None:
            valued = positions.show(session, ref=field(view, "id"), price=known.price)
            row.update(position=valued, price=known.price, price_at=known.at, price_source=known.source,
                       to_sell_trigger=_distance(field(valued, "sell_trigger_price"), known.price),
                       to_buy_trigger=_distance(field(valued, "buy_trigger_price"), known.price))
        rows.append(row)
    return rows


@router.get("/v1/dashboard", summary="Open positions at their latest known price (the dashboard's table)")
def dashboard(request: Request) -> JSONResponse:
    return read(request, summary)


def values(session: Session, ref: str, limit: int) -> dict[str, Any]:
    from vbcli.services.ledger import positions, trades

    view = positions.show(session, ref=ref)
    recent = trades.list_trades(session, ref=field(view, "id"), limit=limit)
    points = value_series(field(view, "qty"), field(view, "cash"), field(view, "dividend_receivable"), recent)
    return {"position_id": field(view, "id"), "symbol": field(view, "symbol"), "points": points}


@router.get("/v1/positions/{pos}/values", summary="The position's value after each of its latest fills (the chart)")
def position_values(pos: str, request: Request, limit: int = Query(500, ge=1, le=10_000)) -> JSONResponse:
    return read(request, lambda s: values(s, pos, limit))
