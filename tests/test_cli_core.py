"""Every core command through the CLI (CliRunner), on SQLite and PostgreSQL.

Each test checks the exit code, the output and the database state afterwards. Expected
numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpers import js, ok, refused, snapshot  # noqa: F401  (shared CLI assertions)

T1_AT = "2026-01-05T15:00:00Z"
T2_AT = "2026-01-06T15:00:00Z"


# ---- helpers ----------------------------------------------------------------------------------


def event_types(vb: Any, *args: str) -> list[str]:
    return [e["type"] for e in js(vb("events", "list", *args, "--json"))]


def position(vb: Any, ref: str = "AAPL") -> dict[str, Any]:
    return js(vb("positions", "show", ref, "--json"))


@pytest.fixture
def aapl(vb: Any) -> dict[str, Any]:
    """100 AAPL and 10 000 cash, anchor 150."""
    return js(vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150", "--json"))


@pytest.fixture
def two_trades(vb: Any, aapl: dict[str, Any]) -> dict[str, Any]:
    """Buy 10 @ 140 (commission 1) on Jan 5, sell 20 @ 160 (default commission) on Jan 6."""
    t1 = js(vb("trades", "add", "AAPL", "buy", "10", "--price", "140", "--commission", "1", "--at", T1_AT, "--json"))
    t2 = js(vb("trades", "add", "AAPL", "sell", "20", "--price", "160", "--at", T2_AT, "--key", "broker-2", "--json"))
    return {"pos": aapl, "t1": t1, "t2": t2}


# ---- portfolios ----------------------------------------------------------------------------------


def test_portfolios_add_list_show_remove(vb):
    added = js(vb("portfolios", "add", "retire", "--currency", "eur", "--description", "long term", "--json"))
    assert (added["name"], added["currency"], added["description"], added["positions"]) == ("retire", "EUR", "long term", 0)
    assert added["id"].startswith("pf_")
    names = [p["name"] for p in js(vb("portfolios", "list", "--json"))]
    assert names == ["default", "retire"]  # by name; `default` exists from the start
    assert js(vb("portfolios", "show", "retire", "--json"))["id"] == added["id"]
    assert event_types(vb) == ["portfolio_created"]

    removed = js(vb("portfolios", "remove", "retire", "--json"))
    assert removed["id"] == added["id"]
    refused(vb("portfolios", "show", "retire"), 3, contains="No portfolio named 'retire'")
    assert event_types(vb) == ["portfolio_removed", "portfolio_created"]


def test_portfolio_refusals(vb):
    ok(vb("portfolios", "add", "alt"))
    refused(vb("portfolios", "add", "alt"), 4, contains="already exists")
    ok(vb("positions", "add", "MSFT", "--at", "2020-01-01", "--cash", "5", "--portfolio", "alt"))
    before = snapshot(vb)
    refused(vb("portfolios", "remove", "alt"), 4, contains="only be removed when empty")
    refused(vb("portfolios", "remove", "default"), 4, contains="default portfolio cannot be removed")
    refused(vb("portfolios", "remove", "nope"), 3)
    refused(vb("portfolios", "add", "x", "--currency", "EURO"), 2, contains="three-letter code")
    refused(vb("portfolios", "add", "a/b"), 2, contains="without '/'")
    assert snapshot(vb) == before
    # A closed position still counts: its history stays.
    ok(vb("positions", "close", "alt/MSFT"))
    refused(vb("portfolios", "remove", "alt"), 4)


def test_a_jpy_portfolio_rounds_commission_to_whole_yen(vb):
    ok(vb("portfolios", "add", "jp", "--currency", "JPY"))
    ok(vb("positions", "add", "7203", "--at", "2020-01-01", "--cash", "1000000", "--portfolio", "jp", "--commission-rate", "0.1%"))
    # 100 @ 2 345 = 234 500; × 0.001 = 234.5 yen → half-up → 235.
    trade = js(vb("trades", "add", "jp/7203", "buy", "100", "--price", "2345", "--json"))
    assert trade["commission"] == "235"
    assert position(vb, "jp/7203")["cash"] == "765265"  # 1 000 000 − 234 500 − 235


# ---- positions -----------------------------------------------------------------------------------


def test_positions_add_stores_policy_defaults_and_options(vb):
    pos = js(vb("positions", "add", "aapl", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150",
                "--trigger-up", "4%", "--trigger-down", "0.025", "--max-alloc", "0.70", "--min-notional", "100.00",
                "--below-min", "CLIP", "--no-auto-rebalance", "--max-orders-per-day", "3", "--json"))
    assert (pos["symbol"], pos["portfolio"], pos["status"]) == ("AAPL", "default", "open")
    assert (pos["qty"], pos["cash"], pos["anchor"], pos["avg_cost"]) == ("100", "10000", "150", "150")
    assert pos["order_policy"] == {
        "trigger_up": "0.04", "trigger_down": "0.025", "rebalance_ratio": "1.6667", "commission_rate": "0.0001",
        "min_qty": "0", "min_notional": "100", "lot_size": "0", "qty_step": "0", "below_min": "clip",
        "auto_rebalance": False, "anchor_reset": "0.5",
    }
    assert pos["guardrails"] == {"min_stock_alloc": "0.25", "max_stock_alloc": "0.7", "max_trade": "0.2", "max_orders_per_day": 3}
    assert position(vb) == pos
    created = js(vb("events", "list", "--json"))
    assert [e["type"] for e in created] == ["position_created"] and created[0]["position_id"] == pos["id"]


def test_positions_add_avg_cost_and_refusals(vb):
    pos = js(vb("positions", "add", "X", "--at", "2020-01-01", "--qty", "10", "--cash", "0", "--anchor", "20", "--avg-cost", "12.5", "--json"))
    assert (pos["anchor"], pos["avg_cost"]) == ("20", "12.5")
    refused(vb("positions", "add", "X", "--at", "2020-01-01", "--cash", "1"), 4, contains="already has an open X position")
    refused(vb("positions", "add", "Y", "--at", "2020-01-01", "--qty", "5"), 2, contains="needs --anchor or --avg-cost")
    refused(vb("positions", "add", "Y", "--at", "2020-01-01", "--trigger", "3"), 2, contains="did you mean 3%?")
    refused(vb("positions", "add", "Y", "--at", "2020-01-01", "--min-alloc", "80%", "--max-alloc", "70%"), 2, contains="--min-alloc must not be above --max-alloc")
    refused(vb("positions", "add", "Y", "--at", "2020-01-01", "--below-min", "maybe"), 2, contains="hold, reject or clip")
    refused(vb("positions", "add", "Y", "--at", "2020-01-01", "--trigger", "0%"), 2, contains="greater than zero")
    refused(vb("positions", "add", "Y", "--at", "2020-01-01", "--max-orders-per-day", "1.5"), 2, contains="whole number")
    refused(vb("positions", "add", "Y", "--at", "2020-01-01", "--portfolio", "nope"), 3, contains="No portfolio named 'nope'")
    assert len(js(vb("positions", "list", "--json"))) == 1


def test_positions_list_columns_and_filters(vb):
    ok(vb("portfolios", "add", "alt"))
    ok(vb("positions", "add", "MSFT", "--at", "2020-01-01", "--cash", "100"))
    ok(vb("positions", "add", "AAPL", "--at", "2020-01-01", "--cash", "200"))
    ok(vb("positions", "add", "AAPL", "--at", "2020-01-01", "--cash", "300", "-p", "alt"))
    ok(vb("positions", "close", "default/MSFT"))
    listed = js(vb("positions", "list", "--json"))
    assert [(p["portfolio"], p["symbol"]) for p in listed] == [("alt", "AAPL"), ("default", "AAPL")]
    assert [p["symbol"] for p in js(vb("positions", "list", "--status", "closed", "--json"))] == ["MSFT"]
    assert len(js(vb("positions", "list", "--status", "all", "--json"))) == 3
    assert [p["cash"] for p in js(vb("positions", "list", "-p", "alt", "--json"))] == ["300"]
    refused(vb("positions", "list", "--status", "gone"), 2, contains="--status must be one of open, closed, all")

    from vbcli.cli.positions import FIELDS

    plain = ok(vb("positions", "list", "--format", "plain")).stdout.splitlines()
    assert plain[0].split("\t") == FIELDS  # policy and guardrails flattened into columns
    assert len(plain) == 3
    table = ok(vb("positions", "list", "--format", "table", env={"COLUMNS": "250"})).stdout
    assert "position" in table.splitlines()[0] and "cash" in table and "trigger_up" not in table


def test_positions_show_with_price(vb, aapl):
    shown = js(vb("positions", "show", "AAPL", "--price", "160", "--json"))
    # Stock 100·160 = 16 000; total 26 000; allocation 16 000/26 000 = 0.6153846… → 0.615385;
    # unrealized (160 − 150)·100 = 1 000; sell trigger 150·1.03 = 154.5, buy 150·0.97 = 145.5;
    # change (160 − 150)/150 = 0.0666… → 0.066667.
    assert {k: shown[k] for k in ("price", "stock_value", "total_value", "stock_alloc", "unrealized_pnl",
                                  "sell_trigger_price", "buy_trigger_price", "change")} == {
        "price": "160", "stock_value": "16000", "total_value": "26000", "stock_alloc": "0.615385",
        "unrealized_pnl": "1000", "sell_trigger_price": "154.5", "buy_trigger_price": "145.5", "change": "0.066667",
    }
    refused(vb("positions", "show", "AAPL", "--price", "0"), 2, contains="--price must be greater than zero")


def test_positions_set_records_old_and_new(vb, aapl):
    updated = js(vb("positions", "set", "AAPL", "--trigger", "4%", "--max-alloc", "0.70", "--anchor", "151", "--json"))
    assert updated["anchor"] == "151"
    assert updated["order_policy"]["trigger_up"] == updated["order_policy"]["trigger_down"] == "0.04"
    assert position(vb) == updated
    events = js(vb("events", "list", "--json"))
    assert [e["type"] for e in events] == ["position_updated", "anchor_updated", "position_created"]
    assert events[0]["data"]["changes"] == {
        "anchor": {"old": "150", "new": "151"},
        "trigger_up": {"old": "0.03", "new": "0.04"},
        "trigger_down": {"old": "0.03", "new": "0.04"},
        "max_stock_alloc": {"old": "0.75", "new": "0.7"},
    }
    assert events[1]["data"] == {"old": "150", "new": "151", "cause": "set"}
    # The same values again change nothing and record nothing.
    ok(vb("positions", "set", "AAPL", "--trigger", "0.040", "--max-alloc", "70%"))
    assert len(js(vb("events", "list", "--json"))) == 3
    refused(vb("positions", "set", "AAPL"), 2, contains="Nothing to change")


def test_deposit_withdraw_and_close(vb, aapl):
    assert js(vb("positions", "deposit", "AAPL", "2500.50", "--json"))["cash"] == "12500.50"
    assert js(vb("positions", "withdraw", "AAPL", "500.5", "--json"))["cash"] == "12000.00"
    before = snapshot(vb)
    refused(vb("positions", "withdraw", "AAPL", "12000.01"), 5, contains="has 12000.00 cash")
    refused(vb("positions", "deposit", "AAPL", "0"), 2)
    assert snapshot(vb) == before
    events = js(vb("events", "list", "AAPL", "--json"))
    assert [e["type"] for e in events[:2]] == ["cash_withdrawn", "cash_deposited"]
    assert events[1]["data"]["amount"] == "2500.50" and events[1]["data"]["cash_after"] == "12500.50"

    order = js(vb("orders", "place", "AAPL", "buy", "1", "--json"))
    refused(vb("positions", "close", "AAPL"), 4, contains=f"open order {order['id']}")
    ok(vb("orders", "cancel", order["id"]))
    closed = js(vb("positions", "close", "AAPL", "--json"))
    assert closed["status"] == "closed" and closed["qty"] == "100"
    # Closed: it keeps its history, is no longer found by symbol, and nothing changes it.
    refused(vb("positions", "show", "AAPL"), 3, contains="No open position for AAPL")
    assert position(vb, aapl["id"])["status"] == "closed"
    refused(vb("positions", "deposit", aapl["id"], "1"), 5, contains="is closed")
    refused(vb("trades", "add", aapl["id"], "buy", "1", "--price", "1"), 5, contains="is closed")
    refused(vb("positions", "close", aapl["id"]), 5)
    assert event_types(vb, aapl["id"])[0] == "position_closed"
    # A new AAPL position may open in the same portfolio once the old one is closed.
    ok(vb("positions", "add", "AAPL", "--at", "2020-01-01", "--cash", "1"))


# ---- orders -------------------------------------------------------------------------------------


def test_order_state_machine(vb, aapl):
    order = js(vb("orders", "place", "AAPL", "buy", "10", "--note", "dip", "--json"))
    assert (order["status"], order["filled_qty"], order["avg_fill_price"], order["commission_rate"], order["note"]) == (
        "open", "0", None, "0.0001", "dip")
    oid = order["id"]

    # 4 @ 145: commission 580·0.0001 = 0.058 → 0.06; cash 10 000 − 580 − 0.06 = 9 419.94.
    t1 = js(vb("orders", "fill", oid, "--price", "145", "--qty", "4", "--json"))
    assert (t1["order_id"], t1["qty"], t1["commission"], t1["notional"], t1["anchor_before"]) == (oid, "4", "0.06", "580", "150")
    shown = js(vb("orders", "show", oid, "--json"))
    assert (shown["status"], shown["filled_qty"], shown["avg_fill_price"]) == ("partially_filled", "4", "145")
    assert (position(vb)["qty"], position(vb)["cash"], position(vb)["anchor"]) == ("104", "9419.94", "145")

    before = snapshot(vb)
    refused(vb("orders", "fill", oid, "--price", "145", "--qty", "7"), 4, contains="only 6 left to fill")
    assert snapshot(vb) == before

    # The rest (6) @ 146 with commission 1: avg fill (580 + 876)/10 = 145.6; cash 9 419.94 − 876 − 1 = 8 542.94.
    t2 = js(vb("orders", "fill", oid, "--price", "146", "--commission", "1", "--json"))
    assert (t2["qty"], t2["commission"], t2["anchor_before"]) == ("6", "1", "145")
    shown = js(vb("orders", "show", oid, "--json"))
    assert (shown["status"], shown["filled_qty"], shown["avg_fill_price"]) == ("filled", "10", "145.6")
    pos = position(vb)
    assert (pos["qty"], pos["cash"], pos["anchor"], pos["total_commission"]) == ("110", "8542.94", "146", "1.06")
    # avg_cost: (100·150 + 580 + 876)/110 = 16 456/110 = 149.6
    assert pos["avg_cost"] == "149.6"

    before = snapshot(vb)
    refused(vb("orders", "fill", oid, "--price", "146"), 4, contains="already filled")
    refused(vb("orders", "cancel", oid), 4, contains="only open or partially filled orders can be cancelled")
    assert snapshot(vb) == before
    assert event_types(vb, "--type", "order_filled") == ["order_filled", "order_filled"]
    assert event_types(vb, "--type", "anchor_updated") == ["anchor_updated", "anchor_updated"]


def test_cancel_open_and_partial_orders_and_nothing_fills_them(vb, aapl):
    first = js(vb("orders", "place", "AAPL", "sell", "5", "--json"))
    assert js(vb("orders", "cancel", first["id"], "--json"))["status"] == "cancelled"
    refused(vb("orders", "fill", first["id"], "--price", "150"), 4, contains="already cancelled")
    refused(vb("orders", "cancel", first["id"]), 4)

    second = js(vb("orders", "place", "AAPL", "sell", "5", "--json"))
    ok(vb("orders", "fill", second["id"], "--price", "151", "--qty", "2"))
    cancelled = js(vb("orders", "cancel", second["id"], "--json"))
    assert (cancelled["status"], cancelled["filled_qty"]) == ("cancelled", "2")
    assert position(vb)["qty"] == "98"
    assert [o["status"] for o in js(vb("orders", "list", "--json"))] == ["cancelled", "cancelled"]
    assert js(vb("orders", "list", "--status", "open", "--json")) == []
    refused(vb("orders", "list", "--status", "done"), 2, contains="--status must be one of")
    assert event_types(vb, "--type", "order_cancelled") == ["order_cancelled", "order_cancelled"]


def test_limit_prices(vb, aapl):
    buy = js(vb("orders", "place", "AAPL", "buy", "2", "--limit", "100", "--json"))
    assert buy["limit"] == "100"
    refused(vb("orders", "fill", buy["id"], "--price", "100.01"), 5, contains="above the buy limit 100")
    assert js(vb("orders", "fill", buy["id"], "--price", "99.5", "--json"))["price"] == "99.5"
    sell = js(vb("orders", "place", "AAPL", "sell", "2", "--limit", "200", "--force", "--json"))
    refused(vb("orders", "fill", sell["id"], "--price", "199.99"), 5, contains="below the sell limit 200")
    ok(vb("orders", "fill", sell["id"], "--price", "200"))


def test_a_refused_placement_writes_only_its_order_rejected_event(vb):
    ok(vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "10", "--cash", "1000", "--anchor", "100"))
    before = snapshot(vb)
    refused(vb("orders", "place", "AAPL", "buy", "50"), 5, contains="use --force to override")
    counts, positions, orders = snapshot(vb)
    assert orders == before[2] and positions == before[1]
    assert counts["events"] == before[0]["events"] + 1
    assert event_types(vb)[0] == "order_rejected"
    forced = js(vb("orders", "place", "AAPL", "buy", "50", "--force", "--json"))
    assert forced["status"] == "open"
    assert js(vb("events", "list", "--type", "order_placed", "--json"))[0]["data"]["forced"] is True
    # Filling it needs cash: 50·100 = 5 000 > 1 000 → refused by the fill, nothing written.
    before = snapshot(vb)
    refused(vb("orders", "fill", forced["id"], "--price", "100"), 5, contains="Not enough cash")
    assert snapshot(vb) == before


def test_the_fill_uses_the_orders_commission_rate_snapshot(vb, aapl):
    ok(vb("positions", "set", "AAPL", "--commission-rate", "0.1%"))
    order = js(vb("orders", "place", "AAPL", "buy", "3", "--json"))
    ok(vb("positions", "set", "AAPL", "--commission-rate", "1%"))
    # 3 @ 150 = 450 × 0.001 (the snapshot, not 1 %) = 0.45.
    assert js(vb("orders", "fill", order["id"], "--price", "150", "--json"))["commission"] == "0.45"


# ---- trades -------------------------------------------------------------------------------------


def test_trades_add_accounting(vb, two_trades):
    t1, t2 = two_trades["t1"], two_trades["t2"]
    # T1: buy 10 @ 140 + 1 → cash 10 000 − 1 401 = 8 599; qty 110; avg (15 000 + 1 400)/110 = 149.0909090909|09.
    # T2: sell 20 @ 160, commission 3 200·0.0001 = 0.32; the exact cost basis 16 400 loses 20/110 of it
    #     = 2 981.818181818181818181818182 (24 decimals, SPEC §8: no 10-decimal average any more); realized
    #     3 200 − 2 981.818181818181818181818182 − 0.32 = 217.861818181818181818181818; cash 8 599 + 3 200 − 0.32 = 11 798.68.
    assert (t1["side"], t1["qty"], t1["price"], t1["commission"], t1["notional"], t1["realized_pnl"], t1["anchor_before"]) == (
        "buy", "10", "140", "1", "1400", "0", "150")
    assert (t2["commission"], t2["notional"], t2["realized_pnl"], t2["anchor_before"], t2["key"]) == (
        "0.32", "3200", "217.861818181818181818181818", "140", "broker-2")
    assert t1["executed_at"] == T1_AT and t2["executed_at"] == T2_AT
    pos = position(vb)
    assert (pos["qty"], pos["cash"], pos["avg_cost"], pos["realized_pnl"], pos["total_commission"], pos["anchor"]) == (
        "90", "11798.68", "149.0909090909", "217.861818181818181818181818", "1.32", "160")
    # Each `trades add` is an order filled in one step.
    orders = js(vb("orders", "list", "--json"))
    assert [(o["id"], o["status"], o["filled_qty"]) for o in orders] == [
        (t2["order_id"], "filled", "20"), (t1["order_id"], "filled", "10")]
    assert js(vb("trades", "show", t1["id"], "--json")) == t1


def test_trades_refused_when_cash_or_shares_are_short(vb, aapl):
    before = snapshot(vb)
    refused(vb("trades", "add", "AAPL", "buy", "100", "--price", "100.01"), 5, contains="Not enough cash")
    refused(vb("trades", "add", "AAPL", "sell", "100.000001", "--price", "1"), 5, contains="Not enough shares")
    assert snapshot(vb) == before
    # Exactly all cash (66 @ 150 = 9 900 + 100 commission = 10 000) is allowed and leaves 0.
    ok(vb("trades", "add", "AAPL", "buy", "66", "--price", "150", "--commission", "100"))
    assert position(vb)["cash"] == "0.00"  # cash moves in cents (SPEC §3, revision 2)


def test_trades_list_filters_and_order(vb, two_trades):
    t1, t2 = two_trades["t1"], two_trades["t2"]

    def ids(*args: str) -> list[str]:
        return [t["id"] for t in js(vb("trades", "list", *args, "--json"))]

    assert ids() == [t2["id"], t1["id"]]  # newest first
    assert ids("AAPL") == [t2["id"], t1["id"]]
    assert ids("--order", t1["order_id"]) == [t1["id"]]
    assert ids("--side", "SELL") == [t2["id"]]
    assert ids("--portfolio", "default") == [t2["id"], t1["id"]]
    assert ids("--since", "2026-01-06") == [t2["id"]]  # from the start of Jan 6
    assert ids("--until", "2026-01-05") == [t1["id"]]  # the whole of Jan 5, inclusive
    assert ids("--since", T1_AT, "--until", T1_AT) == [t1["id"]]  # both bounds inclusive
    assert ids("--since", "2026-01-06T16:00:00+01:00") == [t2["id"]]  # 15:00 UTC, inclusive
    assert ids("--since", "2026-01-07") == []
    assert ids("--limit", "1") == [t2["id"]]
    ok(vb("portfolios", "add", "other"))
    assert ids("--portfolio", "other") == []
    refused(vb("trades", "list", "--portfolio", "nope"), 3)
    refused(vb("trades", "list", "--order", "ord_zzzzzzzz"), 3)
    refused(vb("trades", "list", "--side", "short"), 2, contains="buy or sell")


def test_trades_at_the_same_time_list_newest_first(vb, aapl):
    first = js(vb("trades", "add", "AAPL", "buy", "1", "--price", "150", "--at", T1_AT, "--json"))
    second = js(vb("trades", "add", "AAPL", "buy", "1", "--price", "150", "--at", T1_AT, "--json"))
    assert [t["id"] for t in js(vb("trades", "list", "--json"))] == [second["id"], first["id"]]


def test_void_reverses_a_trade_and_keeps_it(vb, two_trades):
    t1, t2 = two_trades["t1"], two_trades["t2"]
    voided = js(vb("trades", "void", t2["id"], "--reason", "duplicate broker fill", "--json"))
    assert voided["status"] == "voided" and voided["id"] == t2["id"]
    pos = position(vb)
    # Back to after T1 (replayed): qty 110, cash 10 000 − 1 400.00 − 1 = 8 599.00, realized 0, commission 1;
    # the anchor is T1's price 140 again (SPEC §3 revision 2: voiding re-derives the anchor too).
    assert (pos["qty"], pos["cash"], pos["realized_pnl"], pos["total_commission"], pos["anchor"], pos["avg_cost"]) == (
        "110", "8599.00", "0", "1", "140", "149.0909090909")
    order = js(vb("orders", "show", t2["order_id"], "--json"))
    assert (order["filled_qty"], order["status"]) == ("0", "cancelled")
    assert [t["status"] for t in js(vb("trades", "list", "--json"))] == ["voided", "executed"]
    event = js(vb("events", "list", "--type", "trade_voided", "--json"))[0]
    assert (event["trade_id"], event["data"]["reason"]) == (t2["id"], "duplicate broker fill")

    refused(vb("trades", "void", t2["id"], "--reason", "again"), 4, contains="already voided")
    # Voiding the buy: only the opening is left: 100 shares at the opening cost 150, cash 10 000, no commission.
    ok(vb("trades", "void", t1["id"], "--reason", "typo"))
    pos = position(vb)
    assert (pos["qty"], pos["cash"], pos["avg_cost"], pos["total_commission"], pos["anchor"]) == ("100", "10000", "150", "0", "150")


def test_voiding_a_buy_whose_shares_were_sold_is_refused(vb):
    ok(vb("positions", "add", "X", "--at", "2020-01-01", "--cash", "1000"))
    buy = js(vb("trades", "add", "X", "buy", "10", "--price", "10", "--commission", "0", "--json"))
    ok(vb("trades", "add", "X", "sell", "5", "--price", "10", "--commission", "0"))
    before = snapshot(vb)
    refused(vb("trades", "void", buy["id"], "--reason", "oops"), 5, contains="Not enough shares")  # the sell would have nothing
    assert snapshot(vb) == before


# ---- events ---------------------------------------------------------------------------------------


def test_events_list_filters(vb, two_trades):
    ok(vb("positions", "add", "MSFT", "--at", "2020-01-01", "--cash", "1"))
    all_events = js(vb("events", "list", "--json"))
    assert [e["type"] for e in all_events] == [
        "position_created", "anchor_updated", "order_filled", "order_placed",
        "anchor_updated", "order_filled", "order_placed", "position_created"]
    assert [e["type"] for e in js(vb("events", "list", "MSFT", "--json"))] == ["position_created"]
    assert len(js(vb("events", "list", "AAPL", "--json"))) == 7
    assert len(js(vb("events", "list", "--type", "order_placed", "--json"))) == 2
    # SPEC §8.0: a type outside the set is exit 2 naming the nearest, not an empty list.
    assert js(vb("events", "list", "--type", "dividend_paid", "--json")) == []
    refused(vb("events", "list", "--type", "order_fill"), 2, contains="(did you mean order_filled?)")
    assert [e["id"] for e in js(vb("events", "list", "--limit", "2", "--json"))] == [e["id"] for e in all_events[:2]]
    # Events carry the time they were recorded (now), not the trade's --at; both bounds are inclusive.
    oldest, newest = all_events[-1], all_events[0]
    assert [e["id"] for e in js(vb("events", "list", "--until", oldest["ts"], "--json"))] == [oldest["id"]]
    assert [e["id"] for e in js(vb("events", "list", "--since", newest["ts"], "--json"))] == [newest["id"]]
    assert len(js(vb("events", "list", "--since", "today", "--json"))) == 8
    filled = js(vb("events", "list", "--type", "order_filled", "--limit", "1", "--json"))[0]
    assert filled["trade_id"] == two_trades["t2"]["id"]
    assert filled["data"]["trade"]["realized_pnl"] == "217.861818181818181818181818"
    assert (filled["data"]["qty_after"], filled["data"]["cash_after"]) == ("90", "11798.68")


# ---- output formats ------------------------------------------------------------------------------


def _trade_cells(t: dict[str, Any]) -> list[str]:
    return [t["id"], t["order_id"], t["position_id"], "AAPL", t["side"], t["qty"], t["price"], t["commission"],
            t["executed_at"], t["notional"], t["realized_pnl"], t["anchor_before"], "executed", t["key"] or ""]


def test_every_output_format_of_a_listing(vb, two_trades):
    t1, t2 = two_trades["t1"], two_trades["t2"]
    header = ["id", "order_id", "position_id", "symbol", "side", "qty", "price", "commission", "executed_at",
              "notional", "realized_pnl", "anchor_before", "status", "key"]
    row2 = [t2["id"], t2["order_id"], t2["position_id"], "AAPL", "sell", "20", "160", "0.32", T2_AT, "3200",
            "217.861818181818181818181818", "140", "executed", "broker-2"]
    row1 = [t1["id"], t1["order_id"], t1["position_id"], "AAPL", "buy", "10", "140", "1", T1_AT, "1400", "0", "150",
            "executed", ""]
    assert _trade_cells(t2) == row2 and _trade_cells(t1) == row1

    plain = "\n".join("\t".join(r) for r in (header, row2, row1)) + "\n"
    csv_text = "\n".join(",".join(r) for r in (header, row2, row1)) + "\n"
    assert ok(vb("trades", "list", "--format", "plain")).stdout == plain
    assert ok(vb("trades", "list")).stdout == plain  # not a terminal → plain
    assert ok(vb("trades", "list", "--format", "csv")).stdout == csv_text
    assert ok(vb("trades", "list", "-f", "CSV")).stdout == csv_text
    assert ok(vb("trades", "list", env={"VB_FORMAT": "csv"})).stdout == csv_text
    assert ok(vb("trades", "list", "--format", "plain", env={"VB_FORMAT": "csv"})).stdout == plain  # the flag wins

    as_json = json.loads(ok(vb("trades", "list", "--format", "json")).stdout)
    assert as_json == json.loads(ok(vb("trades", "list", "--json")).stdout)
    assert as_json == [dict(zip(header, row2)), {**dict(zip(header, row1)), "key": None}]
    ndjson = ok(vb("trades", "list", "--format", "ndjson")).stdout
    assert [json.loads(line) for line in ndjson.splitlines()] == as_json
    assert ndjson.count("\n") == 2

    table = ok(vb("trades", "list", "--format", "table", env={"COLUMNS": "250"})).stdout
    # A terminal shows money in cents: realized 217.861818182 → 217.86.
    assert "executed" in table.splitlines()[0] and "217.86 " in table and "217.861" not in table
    refused(vb("trades", "list", "--format", "xml"), 2, contains="--format must be one of table, plain, csv, json, ndjson")


def test_empty_listings_still_print_their_header(vb):
    from vbcli.cli import events, orders, portfolios, positions, trades

    ok(vb("db", "upgrade"))  # an explicit ledger is created by a write; reading a missing one is exit 3 (SPEC §8.0)
    for noun, fields in (("trades", trades.FIELDS), ("orders", orders.FIELDS), ("events", events.FIELDS),
                         ("positions", positions.FIELDS)):
        assert ok(vb(noun, "list", "--format", "csv")).stdout == ",".join(fields) + "\n", noun
        assert ok(vb(noun, "list")).stdout == "\t".join(fields) + "\n", noun
        assert json.loads(ok(vb(noun, "list", "--json")).stdout) == []
        assert ok(vb(noun, "list", "--format", "ndjson")).stdout == ""
        assert ok(vb(noun, "list", "--format", "table")).stdout == f"No {noun}.\n"
    assert ok(vb("portfolios", "list")).stdout.splitlines()[0] == "\t".join(portfolios.FIELDS)


def test_header_constants_match_the_rows(vb, two_trades):
    from vbcli.cli import events, orders, portfolios, positions, trades

    assert list(js(vb("trades", "list", "--json"))[0]) == trades.FIELDS
    assert list(js(vb("orders", "list", "--json"))[0]) == orders.FIELDS
    assert list(js(vb("events", "list", "--json"))[0]) == events.FIELDS
    assert list(js(vb("portfolios", "list", "--json"))[0]) == portfolios.FIELDS
    assert ok(vb("positions", "list")).stdout.splitlines()[0].split("\t") == positions.FIELDS


def test_plain_and_csv_neutralise_text_but_not_numbers(vb):
    ok(vb("positions", "add", "X", "--at", "2020-01-01", "--cash", "100"))
    ok(vb("positions", "add", "Y", "--at", "2020-01-01", "--cash", "100"))
    placed = js(vb("orders", "place", "X", "buy", "1", "--note", "=1+2 call me", "--force", "--json"))
    csv_lines = ok(vb("orders", "list", "--format", "csv")).stdout.splitlines()
    assert "'=1+2 call me" in csv_lines[1]
    # A sell at a loss: realized −5.01 (a number) is never neutralised, also when replayed from a key.
    ok(vb("trades", "add", "Y", "buy", "1", "--price", "10", "--commission", "0"))
    first = ok(vb("trades", "add", "Y", "sell", "1", "--price", "5", "--commission", "0.01", "--key", "k", "--format", "csv"))
    again = ok(vb("trades", "add", "Y", "sell", "1", "--price", "5", "--commission", "0.01", "--key", "k", "--format", "csv"))
    assert first.stdout == again.stdout
    assert ",-5.01," in first.stdout
    assert placed["note"] == "=1+2 call me"


def test_a_record_prints_in_every_format(vb, aapl):
    plain = ok(vb("portfolios", "show", "default")).stdout.splitlines()
    assert plain[0] == "id\tname\tcurrency\tdescription\tcreated_at\tupdated_at\tpositions\tcost_basis"
    assert plain[1].split("\t")[1:4] == ["default", "USD", ""] and plain[1].endswith("\t1\taverage")
    assert ok(vb("portfolios", "show", "default", "--format", "csv")).stdout.splitlines()[1].split(",")[-2:] == ["1", "average"]
    one = json.loads(ok(vb("portfolios", "show", "default", "--format", "ndjson")).stdout)
    assert one["positions"] == 1
    table = ok(vb("positions", "show", "AAPL", "--format", "table", env={"COLUMNS": "250"})).stdout
    assert "Order policy" in table and "trigger_up" in table and "3%" in table  # policy in its section, as a percentage


# ---- idempotency and dry runs -----------------------------------------------------------------


def test_same_key_same_request_replays_the_first_result(vb, aapl):
    args = ("trades", "add", "AAPL", "buy", "2", "--price", "150", "--key", "fill-1", "--json")
    first = ok(vb(*args))
    before = snapshot(vb)
    again = vb(*args)
    assert again.exit_code == 0 and again.stdout == first.stdout
    assert "already used for this request" in again.stderr
    assert snapshot(vb) == before
    assert position(vb)["qty"] == "102"

    refused(vb("trades", "add", "AAPL", "buy", "3", "--price", "150", "--key", "fill-1"), 4, contains="different request")
    refused(vb("positions", "deposit", "AAPL", "5", "--key", "fill-1"), 4, contains="different request")
    assert snapshot(vb) == before


@pytest.mark.parametrize(
    "command",
    [
        ("portfolios", "add", "p2"),
        ("positions", "add", "MSFT", "--at", "2020-01-01", "--cash", "5"),
        ("positions", "set", "AAPL", "--trigger", "5%"),
        ("positions", "deposit", "AAPL", "5"),
        ("positions", "withdraw", "AAPL", "5"),
        ("orders", "place", "AAPL", "buy", "1"),
        ("trades", "add", "AAPL", "sell", "1", "--price", "151"),
    ],
)
def test_key_replay_for_every_write(vb, aapl, command):
    first = ok(vb(*command, "--key", "k-1", "--json"))
    before = snapshot(vb)
    again = ok(vb(*command, "--key", "k-1", "--json"))
    assert again.stdout == first.stdout
    assert snapshot(vb) == before


def test_key_replay_of_fill_cancel_void_close_remove(vb, aapl):
    order = js(vb("orders", "place", "AAPL", "buy", "4", "--json"))
    fill = ok(vb("orders", "fill", order["id"], "--price", "150", "--qty", "1", "--key", "f", "--json"))
    before = snapshot(vb)
    assert ok(vb("orders", "fill", order["id"], "--price", "150", "--qty", "1", "--key", "f", "--json")).stdout == fill.stdout
    assert snapshot(vb) == before
    trade = json.loads(fill.stdout)
    for command in (("orders", "cancel", order["id"]), ("trades", "void", trade["id"], "--reason", "r"),
                    ("positions", "close", "AAPL")):
        first = ok(vb(*command, "--key", "again-" + command[0], "--json"))
        before = snapshot(vb)
        assert ok(vb(*command, "--key", "again-" + command[0], "--json")).stdout == first.stdout
        assert snapshot(vb) == before


def test_bad_keys_are_refused(vb, aapl):
    refused(vb("positions", "deposit", "AAPL", "1", "--key", ""), 2, contains="--key must be 1 to 200")
    refused(vb("positions", "deposit", "AAPL", "1", "--key", "a\x1bb"), 2)
    refused(vb("positions", "deposit", "AAPL", "1", "--key", "k" * 201), 2)


@pytest.mark.parametrize(
    "command",
    [
        ("portfolios", "add", "p2"),
        ("portfolios", "remove", "empty"),
        ("positions", "add", "MSFT", "--at", "2020-01-01", "--cash", "5"),
        ("positions", "set", "AAPL", "--trigger", "5%"),
        ("positions", "deposit", "AAPL", "5"),
        ("positions", "withdraw", "AAPL", "5"),
        ("positions", "close", "AAPL"),
        ("orders", "place", "AAPL", "buy", "1"),
        ("trades", "add", "AAPL", "sell", "1", "--price", "151", "--key", "dry"),
    ],
)
def test_dry_run_writes_nothing(vb, aapl, command):
    ok(vb("portfolios", "add", "empty"))
    before = snapshot(vb)
    result = ok(vb(*command, "--dry-run", "--json"))
    assert json.loads(result.stdout)  # shows what it would have written
    assert "dry run: nothing was written" in result.stderr
    assert snapshot(vb) == before
    if "--key" in command:  # a dry run does not use up its key
        ok(vb(*command, "--json"))
        assert snapshot(vb)[0]["trades"] == 1


def test_dry_run_of_fill_cancel_void(vb, aapl):
    order = js(vb("orders", "place", "AAPL", "buy", "4", "--json"))
    trade = js(vb("orders", "fill", order["id"], "--price", "150", "--qty", "1", "--json"))
    before = snapshot(vb)
    dry = js(vb("orders", "fill", order["id"], "--price", "149", "--dry-run", "--json"))
    assert dry["qty"] == "3"
    assert js(vb("orders", "cancel", order["id"], "--dry-run", "--json"))["status"] == "cancelled"
    assert js(vb("trades", "void", trade["id"], "--reason", "x", "--dry-run", "--json"))["status"] == "voided"
    assert snapshot(vb) == before


# ---- references ------------------------------------------------------------------------------------


def test_position_references(vb, aapl):
    pid = aapl["id"]
    for ref in (pid, pid[:6], pid[:12], "aapl", "default/AAPL", " AAPL "):
        assert position(vb, ref)["id"] == pid, ref
    refused(vb("positions", "show", pid[:5]), 3, contains="at least 6 characters")
    refused(vb("positions", "show", "pos_zzzzzz"), 3)
    refused(vb("positions", "show", "MSFT"), 3, contains="No open position for MSFT")
    refused(vb("positions", "show", "nope/AAPL"), 3, contains="No portfolio named 'nope'")
    refused(vb("positions", "show", "default/MSFT"), 3, contains="No open MSFT position in portfolio 'default'")

    ok(vb("portfolios", "add", "alt"))
    other = js(vb("positions", "add", "AAPL", "--at", "2020-01-01", "--cash", "1", "-p", "alt", "--json"))
    line = refused(vb("positions", "show", "AAPL"), 4, contains="AAPL is open in several portfolios")
    assert f"default/AAPL ({pid})" in line and f"alt/AAPL ({other['id']})" in line
    refused(vb("positions", "show", "pos_01"), 4, contains="ambiguous")
    assert position(vb, "alt/AAPL")["id"] == other["id"]
    before = snapshot(vb)
    refused(vb("trades", "add", "AAPL", "buy", "1", "--price", "1"), 4)  # ambiguous: nothing written
    assert snapshot(vb) == before


def test_order_and_trade_references(vb, aapl):
    o1 = js(vb("orders", "place", "AAPL", "buy", "1", "--json"))
    assert js(vb("orders", "show", o1["id"][:12], "--json"))["id"] == o1["id"]
    ok(vb("orders", "cancel", o1["id"]))
    o2 = js(vb("orders", "place", "AAPL", "buy", "1", "--json"))
    refused(vb("orders", "show", "ord_01"), 4, contains="ambiguous")
    refused(vb("orders", "show", "ord_0"), 3, contains="at least 6 characters")
    refused(vb("orders", "show", "ord_zzzzzz"), 3)
    trade = js(vb("orders", "fill", o2["id"], "--price", "150", "--json"))
    assert js(vb("trades", "show", trade["id"][:-3], "--json"))["id"] == trade["id"]
    refused(vb("trades", "show", "trd_zzzzzz"), 3, contains="No trade")
    refused(vb("trades", "void", "trd_zzzzzz", "--reason", "x"), 3)
    refused(vb("orders", "fill", "ord_zzzzzz", "--price", "1"), 3)
    refused(vb("orders", "cancel", "ord_zzzzzz"), 3)


# ---- bad input ---------------------------------------------------------------------------------------

BAD_NUMBERS = ["-1", "0", "NaN", "Infinity", "-Infinity", "1e999", "1e5", "9" * 30, "1.0000000000001", "1,5", "abc", ""]
FEW_BAD_NUMBERS = ["-1", "NaN", "Infinity", "1e999", "9" * 30]
NUMBER_OPTIONS = [
    ("trades", "add", "AAPL", "buy", "1", "--price", "150", "--commission={v}"),
    ("orders", "place", "AAPL", "buy", "1", "--limit={v}"),
    ("orders", "place", "AAPL", "buy", "{v}"),
    ("positions", "deposit", "AAPL", "{v}"),
    ("positions", "withdraw", "AAPL", "{v}"),
    ("positions", "add", "MSFT", "--at", "2020-01-01", "--cash={v}"),
    ("positions", "add", "MSFT", "--at", "2020-01-01", "--cash", "1", "--qty={v}", "--anchor", "1"),
    ("positions", "add", "MSFT", "--at", "2020-01-01", "--cash", "1", "--anchor={v}"),
    ("positions", "set", "AAPL", "--anchor={v}"),
    ("positions", "set", "AAPL", "--ratio={v}"),
    ("positions", "set", "AAPL", "--trigger={v}"),
    ("positions", "set", "AAPL", "--min-notional={v}"),
    ("positions", "set", "AAPL", "--max-orders-per-day={v}"),
    ("positions", "show", "AAPL", "--price={v}"),
]
CASES = [(("trades", "add", "AAPL", "buy", "{v}", "--price", "150"), v) for v in BAD_NUMBERS]
CASES += [(("trades", "add", "AAPL", "buy", "1", "--price={v}"), v) for v in BAD_NUMBERS]
CASES += [(template, v) for template in NUMBER_OPTIONS for v in FEW_BAD_NUMBERS]


@pytest.mark.parametrize(("template", "value"), CASES)
def test_bad_numbers_are_refused_with_exit_2_and_nothing_written(vb, aapl, template, value):
    args = [part.replace("{v}", value) for part in template]
    if value.startswith("-") and "{v}" in template:  # a bare -1 would be read as an option: after `--`
        args = [a for a in args if a != value] + ["--", value]
    before = snapshot(vb)
    refused(vb(*args), 2)
    assert snapshot(vb) == before


@pytest.mark.parametrize(
    ("args", "code", "contains"),
    [
        (("trades", "add", "AAPL", "buy", "1", "--price", "1", "--at", "2026-13-01"), 2, "--at '2026-13-01' is not a date"),
        (("trades", "add", "AAPL", "buy", "1", "--price", "1", "--at", "2026-01-01T10:00"), 2, "no UTC offset"),
        (("orders", "fill", "ord_zzzzzz", "--price", "1", "--at", "soon"), 2, "--at 'soon'"),
        (("trades", "list", "--since", "last week"), 2, "--since 'last week'"),
        (("trades", "list", "--until", "2026-02-30"), 2, "--until '2026-02-30'"),
        (("events", "list", "--since", "0000-01-01"), 2, "--since"),
        (("trades", "add", "AAPL", "hold", "1", "--price", "1"), 2, "Side must be buy or sell"),
        (("orders", "place", "AAPL", "short", "1"), 2, "Side must be buy or sell"),
        (("orders", "place", "AAPL", "buy", "1", "--note", "a\x1b[31mb"), 2, "The note contains control characters"),
        (("trades", "void", "trd_zzzzzz", "--reason", "a\x00b"), 2, "The reason contains control characters"),
        (("positions", "add", "BAD SYM", "--at", "2020-01-01", "--cash", "1"), 2, "is not a valid symbol"),
        (("positions", "add", "A\x1bB", "--at", "2020-01-01", "--cash", "1"), 2, "'A\\x1bB' is not a valid symbol"),
        (("positions", "add", "X" * 40, "--cash", "1"), 2, "is not a valid symbol"),
        (("portfolios", "add", "x\ty"), 2, "printable characters"),
        (("portfolios", "add", ""), 2, "printable characters"),
        (("portfolios", "add", "p", "--description", "a\x07b"), 2, "The description contains control characters"),
        (("positions", "show", "MSFT"), 3, "No open position for MSFT"),
        (("positions", "deposit", "nope/AAPL", "1"), 3, "No portfolio named 'nope'"),
        (("events", "list", "ZZZ"), 3, "No open position for ZZZ"),
        (("trades", "list", "ZZZ"), 3, "No open position for ZZZ"),
        (("orders", "list", "ZZZ"), 3, "No open position for ZZZ"),
        (("positions", "list", "-p", "nope"), 3, "No portfolio named 'nope'"),
    ],
)
def test_bad_input_is_answered_with_one_line_and_nothing_written(vb, aapl, args, code, contains):
    before = snapshot(vb)
    line = refused(vb(*args), code, contains=contains)
    assert "\x1b" not in line and "\x00" not in line  # control characters are shown, never sent
    assert snapshot(vb) == before


@pytest.mark.parametrize(
    "args",
    [
        ("trades", "list", "--limit", "0"),
        ("trades", "list", "--limit", "-1"),
        ("trades", "list", "--limit", "abc"),
        ("events", "list", "--limit", "99999999999999999999999"),
        ("orders", "list", "--limit", "1.5"),
        ("trades", "add", "AAPL", "buy", "1"),  # --price missing
        ("orders", "fill"),
        ("positions", "add", "X", "--at", "2020-01-01", "--unknown-option"),
    ],
)
def test_usage_errors_exit_2_with_nothing_on_stdout(vb, aapl, args):
    before = snapshot(vb)
    result = vb(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip()
    assert snapshot(vb) == before
