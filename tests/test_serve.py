"""`vb serve`'s API in-process (FastAPI's TestClient) on SQLite and PostgreSQL.

Every answer is compared with what the CLI prints for the same ledger (`--format json`), and
the hand-worked figures are written next to the first place they appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the serve extra (vbcli[serve]) is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from conftest import make_cli_runner  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Api:
    """The app over one ledger, plus the CLI on the same ledger."""

    def __init__(self, client: TestClient, db_url: str) -> None:
        self.client = client
        self.cli = make_cli_runner(db_url)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers={**AUTH, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, body: Any = None, key: str | None = None, **kw: Any) -> Any:
        headers = {**AUTH, **({"Idempotency-Key": key} if key else {}), **kw.pop("headers", {})}
        return self.client.post(path, json=body, headers=headers, **kw)

    def vb_json(self, *args: str) -> Any:
        done = self.cli(*args, "--format", "json")
        assert done.exit_code == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    from vbcli.config import resolve_location
    from vbcli.store.ledger import open_ledger
    from vbcli.web.app import create_app

    ledger = open_ledger(resolve_location(db_url))
    try:
        with TestClient(create_app(ledger, TOKEN), raise_server_exceptions=False) as client:
            yield Api(client, db_url)
    finally:
        ledger.close()


def open_aapl(api: Api) -> dict[str, Any]:
    answer = api.post("/v1/positions", {"symbol": "aapl", "qty": "100", "cash": "10000", "anchor": "150"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_positions_endpoints_answer_what_the_cli_prints(api: Api) -> None:
    created = open_aapl(api)
    assert created["symbol"] == "AAPL" and created["qty"] == "100" and created["avg_cost"] == "150"
    assert api.get("/v1/positions").json() == api.vb_json("positions", "list")
    shown = api.get("/v1/positions/AAPL", params={"price": "152"}).json()
    # 100 × 152 = 15200 stock; + 10000 cash = 25200; 15200 / 25200 = 0.6031746… → 0.603175
    assert (shown["stock_value"], shown["total_value"], shown["stock_alloc"]) == ("15200", "25200", "0.603175")
    assert shown == api.vb_json("positions", "show", "AAPL", "--price", "152")
    assert api.get(f"/v1/positions/{created['id']}").json() == api.vb_json("positions", "show", created["id"])


def test_position_with_policy_in_the_json_shape_and_percentages(api: Api) -> None:
    body = {"symbol": "MSFT", "cash": "5000", "trigger": "4%",
            "order_policy": {"trigger_up": "0.05", "rebalance_ratio": "2"}, "guardrails": {"max_stock_alloc": "70%"}}
    made = api.post("/v1/positions", body).json()
    # --trigger sets both, trigger_up wins for its side (as on the command line)
    assert made["order_policy"]["trigger_up"] == "0.05" and made["order_policy"]["trigger_down"] == "0.04"
    assert made["order_policy"]["rebalance_ratio"] == "2" and made["guardrails"]["max_stock_alloc"] == "0.7"
    refused = api.post("/v1/positions", {"symbol": "X", "guardrails": {"max_trade": "20"}})
    assert refused.status_code == 400 and "did you mean" in refused.json()["message"]


def test_trades_add_and_the_seed_endpoints(api: Api) -> None:
    open_aapl(api)
    answer = api.post("/v1/positions/AAPL/trades", {"side": "sell", "qty": "5", "price": "151"})
    assert answer.status_code == 201, answer.text
    trade = answer.json()
    # notional 5 × 151 = 755; commission 755 × 0.0001 = 0.0755 → 0.08; P&L (151 − 150) × 5 − 0.08 = 4.92
    assert (trade["notional"], trade["commission"], trade["realized_pnl"], trade["anchor_before"]) == ("755", "0.08", "4.92", "150")
    assert api.get("/v1/positions/AAPL/trades", params={"limit": 20}).json() == api.vb_json("trades", "list", "AAPL", "--limit", "20")
    assert api.get(f"/v1/orders/{trade['order_id']}/trades").json() == api.vb_json("trades", "list", "--order", trade["order_id"])
    assert api.get("/v1/trades", params={"side": "sell", "since": "2000-01-01"}).json() == api.vb_json("trades", "list", "--side", "sell", "--since", "2000-01-01")
    assert api.get(f"/v1/trades/{trade['id']}").json() == api.vb_json("trades", "show", trade["id"])
    position = api.get("/v1/positions/AAPL").json()
    assert (position["qty"], position["cash"], position["anchor"]) == ("95", "10754.92", "151")  # 10000 + 755 − 0.08


def test_orders_place_fill_cancel(api: Api) -> None:
    open_aapl(api)
    placed = api.post("/v1/positions/AAPL/orders", {"side": "buy", "qty": "10", "limit": "149"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert api.get(f"/v1/orders/{order['id']}").json() == api.vb_json("orders", "show", order["id"])
    part = api.post(f"/v1/orders/{order['id']}/fill", {"price": "148", "qty": "4", "commission": "1"})
    assert part.status_code == 201 and part.json()["qty"] == "4"
    assert api.get("/v1/orders", params={"status": "partially_filled"}).json() == api.vb_json("orders", "list", "--status", "partially_filled")
    cancelled = api.post(f"/v1/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"/v1/orders/{order['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"] == "conflict" and again.json()["exit_code"] == 4
    # cash 10000 − 4 × 148 − 1 = 9407.00 (cash moves in cents)
    assert api.get("/v1/positions/AAPL").json()["cash"] == "9407.00"
    assert api.get("/v1/events", params={"limit": 50}).json() == api.vb_json("events", "list", "--limit", "50")
    assert api.get("/v1/events", params={"type": "order_cancelled"}).json() == api.vb_json("events", "list", "--type", "order_cancelled")


def test_evaluate_shows_the_working_and_places(api: Api) -> None:
    open_aapl(api)
    answer = api.post("/v1/positions/AAPL/evaluate", {"price": "140"})
    assert answer.status_code == 200
    assert answer.json() == api.vb_json("evaluate", "AAPL", "--price", "140")
    assert answer.json()["action"] == "BUY"  # 140 is 6.7% below the anchor 150: past the 3% trigger
    assert api.vb_json("orders", "list") == []  # evaluating writes nothing
    placed = api.post("/v1/positions/AAPL/evaluate", {"price": "140", "place": True, "fill": True}, key="ev-1")
    assert placed.status_code == 200 and placed.json()["trade"]["price"] == "140"
    assert api.vb_json("trades", "list")[0]["id"] == placed.json()["trade"]["id"]
    bad = api.post("/v1/positions/AAPL/evaluate", {"price": "140", "fill": True})
    assert bad.status_code == 400 and bad.json()["exit_code"] == 2


def test_without_or_with_a_wrong_token_401_and_nothing_written(api: Api) -> None:
    open_aapl(api)
    body = {"side": "sell", "qty": "5", "price": "151"}
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
        answer = api.client.post("/v1/positions/AAPL/trades", json=body, headers=headers)
        assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    # a token in the query is for the page and the docs only, never for the API
    assert api.client.post(f"/v1/positions/AAPL/trades?token={TOKEN}", json=body).status_code == 401
    assert api.client.get(f"/v1/positions?token={TOKEN}").status_code == 401
    for path in ("/", "/docs", "/openapi.json", "/nowhere"):
        assert api.client.get(path).status_code == 401
    assert api.vb_json("trades", "list") == []


def test_the_same_idempotency_key_twice_is_one_fill(api: Api) -> None:
    open_aapl(api)
    body = {"side": "sell", "qty": "5", "price": "151"}
    first = api.post("/v1/positions/AAPL/trades", body, key="fill-9912")
    second = api.post("/v1/positions/AAPL/trades", body, key="fill-9912")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.headers["idempotent-replayed"] == "false" and second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert len(api.vb_json("trades", "list")) == 1
    other = api.post("/v1/positions/AAPL/trades", {**body, "qty": "6"}, key="fill-9912")
    assert other.status_code == 409 and other.json()["exit_code"] == 4
    # the CLI's --key and the header are one key space: the same request replays across them
    done = api.cli("trades", "add", "AAPL", "sell", "5", "--price", "151", "--key", "fill-9912", "--format", "json")
    assert done.exit_code == 0 and json.loads(done.stdout)["id"] == first.json()["id"]
    assert len(api.vb_json("trades", "list")) == 1
    assert api.post("/v1/positions/AAPL/trades", body, key="x" * 201).status_code == 400


def test_refusals_and_errors_have_their_statuses(api: Api) -> None:
    open_aapl(api)
    # 100 × 150 = 15000 of 25000 is 60% stock; buying 60 more at 150 ends at 96% > 75%
    refused = api.post("/v1/positions/AAPL/orders", {"side": "buy", "qty": "60"})
    assert refused.status_code == 422 and refused.json()["error"] == "refused" and refused.json()["exit_code"] == 5
    assert [e["type"] for e in api.vb_json("events", "list", "--type", "order_rejected")] == ["order_rejected"]
    broke = api.post("/v1/positions/AAPL/trades", {"side": "buy", "qty": "1000", "price": "150"})
    assert broke.status_code == 422
    assert api.get("/v1/positions/NOPE").status_code == 404
    assert api.get("/v1/orders/ord_zzzzzz").json()["error"] == "not_found"
    assert api.post("/v1/positions", {"symbol": "AAPL"}).status_code == 409  # already open in default
    for body, fragment in (({"side": "hold", "qty": "1", "price": "1"}, "buy or sell"),
                           ({"side": "buy", "qty": "1", "price": 1.5}, "decimal string"),
                           ({"side": "buy", "qty": "1", "price": "1", "extra": 1}, "extra"),
                           ({"side": "buy", "qty": "-1", "price": "1"}, "negative")):
        answer = api.post("/v1/positions/AAPL/trades", body)
        assert answer.status_code == 400 and fragment in answer.json()["message"], answer.text
    assert api.get("/v1/positions", params={"status": "gone"}).status_code == 400
    assert api.get("/v1/trades", params={"limit": 0}).status_code == 400
    not_json = api.client.post("/v1/positions/AAPL/trades", content=b"{", headers={**AUTH, "content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["message"] == "The request body is not valid JSON."
    big = api.client.post("/v1/positions/AAPL/trades", content=b" " * 70000, headers={**AUTH, "content-type": "application/json"})
    assert big.status_code == 413
    assert len(api.vb_json("trades", "list")) == 0


def test_dry_run_writes_nothing(api: Api) -> None:
    open_aapl(api)
    answer = api.post("/v1/positions/AAPL/trades?dry_run=true", {"side": "sell", "qty": "5", "price": "151"})
    assert answer.status_code == 200 and answer.headers["vb-dry-run"] == "true" and answer.json()["qty"] == "5"
    assert api.vb_json("trades", "list") == []


def test_an_internal_error_is_500_without_any_trace(api: Api, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    from vbcli.services.ledger import positions

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(positions, "list_all", broken)
    answer = api.get("/v1/positions")
    assert answer.status_code == 500 and answer.json()["error"] == "internal" and answer.json()["exit_code"] == 1
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert "Traceback" not in capfd.readouterr().err


def test_dashboard_summary_values_and_page(api: Api) -> None:
    made = open_aapl(api)
    summary = api.get("/v1/dashboard").json()
    assert summary[0]["price"] is None  # no fill yet: no price is known
    api.post("/v1/positions/AAPL/trades", {"side": "sell", "qty": "5", "price": "160", "commission": "0"})
    row = api.get("/v1/dashboard").json()[0]
    # anchor 160 after the fill: sell trigger 164.8 (+3%), buy trigger 155.2 (−3%) at price 160
    assert (row["price"], row["price_source"]) == ("160", "fill")
    assert (row["to_sell_trigger"], row["to_buy_trigger"]) == ("0.03", "-0.03")
    # 95 × 160 = 15200 stock; cash 10000 + 5 × 160 − 0 = 10800; value 26000
    assert row["position"]["total_value"] == "26000"
    points = api.get(f"/v1/positions/{made['id']}/values").json()["points"]
    assert [(p["qty"], p["cash"], p["value"]) for p in points] == [("95", "10800.00", "26000")]
    page = api.client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "<script>" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "http" not in page.text.replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace is a name, not a request
    docs = api.client.get(f"/docs?token={TOKEN}")
    assert docs.status_code == 200 and "cdn" not in docs.text
    assert api.client.get(f"/docs/assets/swagger-ui-bundle.js?token={TOKEN}").status_code == 200
    assert "/v1/positions/{pos}/trades" in api.client.get(f"/openapi.json?token={TOKEN}").json()["paths"]
