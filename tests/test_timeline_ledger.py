"""The ledger as a function of its timeline (issue 10, SPEC §8.1): back-dated writes, refusals,
void, limits on time, dividends on the timeline. Figures are worked by hand in the comments."""

from __future__ import annotations

import json
from typing import Any

import pytest


def js(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def position(vb: Any, ref: str = "X") -> dict[str, Any]:
    return js(vb("positions", "show", ref, "--json"))


def figures(vb: Any, ref: str = "X") -> tuple[str, ...]:
    p = position(vb, ref)
    return tuple(p[k] for k in ("qty", "cash", "anchor", "avg_cost", "realized_pnl"))


def test_the_issue_scenario_follows_execution_order(vb):
    js(vb("positions", "add", "X", "--qty", "0", "--cash", "100000", "--at", "2026-10-01", "--json"))
    js(vb("trades", "add", "X", "buy", "10", "--price", "100", "--commission", "0", "--at", "2026-11-01", "--json"))
    sell = js(vb("trades", "add", "X", "sell", "5", "--price", "120", "--commission", "0", "--at", "2026-11-20", "--json"))
    late = js(vb("trades", "add", "X", "buy", "10", "--price", "50", "--commission", "0", "--at", "2026-11-10", "--json"))
    # In time order: buy 10 @ 100, buy 10 @ 50 → 20 shares costing 1 500, avg 75; sell 5 @ 120 → realized
    # (120 − 75)·5 = 225, cost 1 500 − 375 = 1 125 for 15 shares (avg 75); cash 100 000 − 1 000 − 500 + 600 = 99 100;
    # anchor 120 (the last fill by time). The late buy's anchor_before is 100 (the fill before it by time).
    assert figures(vb) == ("15", "99100", "120", "75", "225")
    assert late["anchor_before"] == "100" and late["realized_pnl"] == "0"
    trades = {t["id"]: t for t in js(vb("trades", "list", "X", "--json"))}
    assert (trades[sell["id"]]["realized_pnl"], trades[sell["id"]]["anchor_before"]) == ("225", "50")
    rederived = js(vb("events", "list", "--type", "position_rederived", "--json"))
    assert len(rederived) == 1  # only the late buy was back-dated
    data = rederived[0]["data"]
    assert data["position"]["realized_pnl"] == {"old": "100", "new": "225"} and data["trades_changed"] == 1
    assert data["trades"][sell["id"]]["realized_pnl"] == {"old": "100", "new": "225"}
    assert vb("db", "check").exit_code == 0


def test_back_dated_sell_that_would_go_negative_is_refused(vb):
    js(vb("positions", "add", "X", "--cash", "10000", "--at", "2026-10-01", "--json"))
    js(vb("trades", "add", "X", "buy", "10", "--price", "100", "--commission", "0", "--at", "2026-11-10", "--json"))
    before = (figures(vb), js(vb("events", "list", "--json")))
    # Ten shares exist from 2026-11-10 on; a sell on 2026-11-05 would sell shares not yet held.
    result = vb("trades", "add", "X", "sell", "5", "--price", "110", "--commission", "0", "--at", "2026-11-05")
    assert result.exit_code == 5 and result.stdout == ""
    assert "2026-11-05T00:00:00Z" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (figures(vb), js(vb("events", "list", "--json"))) == before
    # A back-dated withdrawal that a later buy needed is refused too, naming the buy's time: 10 000 − 9 500 = 500 < 1 000.
    result = vb("positions", "withdraw", "X", "9500", "--at", "2026-11-01")
    assert result.exit_code == 5 and "2026-11-10T00:00:00Z" in result.stderr


def test_void_restores_the_anchor_and_the_order_follows(vb):
    js(vb("positions", "add", "X", "--qty", "10", "--cash", "10000", "--anchor", "100", "--at", "2026-10-01", "--json"))
    order = js(vb("orders", "place", "X", "buy", "5", "--json"))
    fat = js(vb("orders", "fill", order["id"], "--price", "1000", "--commission", "0", "--json"))  # a fat finger
    assert position(vb)["anchor"] == "1000"
    js(vb("trades", "void", fat["id"], "--reason", "fat finger", "--json"))
    # Without the fill, the anchor is the opening's 100 again, and the placed order is live again (nothing stands of its fill).
    assert figures(vb) == ("10", "10000", "100", "100", "0")
    assert js(vb("orders", "show", order["id"], "--json"))[("status")] == "open"
    recorded = js(vb("trades", "add", "X", "buy", "1", "--price", "90", "--commission", "0", "--json"))
    js(vb("trades", "void", recorded["id"], "--reason", "typed twice", "--json"))
    # The order of a recorded fill only carried it: it is cancelled, with its event.
    assert js(vb("orders", "show", recorded["order_id"], "--json"))["status"] == "cancelled"
    assert js(vb("events", "list", "--type", "order_cancelled", "--json"))[0]["order_id"] == recorded["order_id"]
    assert vb("db", "check").exit_code == 0


@pytest.mark.parametrize("at, contains", [("2099-01-01", "in the future"), ("2026-09-30", "before the X position was opened")])
def test_fill_times_outside_the_position_are_usage_errors(vb, at, contains):
    js(vb("positions", "add", "X", "--cash", "10000", "--at", "2026-10-01", "--json"))
    result = vb("trades", "add", "X", "buy", "1", "--price", "10", "--at", at)
    assert result.exit_code == 2 and contains in result.stderr
    assert js(vb("trades", "list", "--json")) == []


def test_dividend_entitlement_and_payment_follow_the_timeline(vb):
    js(vb("positions", "add", "X", "--qty", "100", "--cash", "1000", "--anchor", "50", "--at", "2026-01-01", "--json"))
    div = js(vb("dividends", "add", "X", "--per-share", "1", "--ex-date", "2026-03-02", "--pay-date", "2026-03-20", "--json"))
    # Due when added: 100 shares held at the end of 2026-03-01 → gross 100, tax 25, net 75, paid on its pay date.
    assert (div["qty"], div["gross"], div["tax"], div["net"], div["status"]) == ("100", "100", "25.00", "75", "paid")
    # A buy typed later but executed on 2026-03-01 (the day before the ex-date) is entitled: 110 shares →
    # gross 110, tax 27.50, net 82.50; cash 1 000 − 10·40 + 82.50 = 682.50; the ex-date lowered the anchor 40 → 39.
    js(vb("trades", "add", "X", "buy", "10", "--price", "40", "--commission", "0", "--at", "2026-03-01T15:00:00Z", "--json"))
    again = js(vb("dividends", "list", "X", "--json"))[0]
    assert (again["qty"], again["gross"], again["net"]) == ("110", "110", "82.5")
    assert figures(vb)[:3] == ("110", "682.5", "39")
    journal = vb("export", "all", "--format", "ledger").stdout
    assert "\n2026-03-20 dividend paid X" in journal  # dated at the pay date, not the day it was processed
    assert vb("db", "check").exit_code == 0


def test_paying_before_the_ex_date_is_a_conflict(vb):
    js(vb("positions", "add", "X", "--qty", "10", "--cash", "0", "--anchor", "50", "--at", "2026-01-01", "--json"))
    div = js(vb("dividends", "add", "X", "--per-share", "1", "--ex-date", "2099-03-02", "--json"))
    result = vb("dividends", "pay", div["id"])
    assert result.exit_code == 4 and "2099-03-02" in result.stderr
    assert js(vb("dividends", "list", "--json"))[0]["status"] == "announced"
