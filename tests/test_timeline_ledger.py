"""The ledger as a function of its timeline (issue 10, SPEC §8.1): back-dated writes, refusals,
void, limits on time, dividends on the timeline. Figures are worked by hand in the comments."""

from __future__ import annotations

import json
import sys
from pathlib import Path
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
    assert figures(vb) == ("15", "99100.00", "120", "75", "225")
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
    assert figures(vb)[:3] == ("110", "682.50", "39")
    journal = vb("export", "all", "--format", "ledger").stdout
    assert "\n2026-03-20 dividend paid X" in journal  # dated at the pay date, not the day it was processed
    assert vb("db", "check").exit_code == 0


def test_paying_before_the_ex_date_is_a_conflict(vb):
    js(vb("positions", "add", "X", "--qty", "10", "--cash", "0", "--anchor", "50", "--at", "2026-01-01", "--json"))
    div = js(vb("dividends", "add", "X", "--per-share", "1", "--ex-date", "2099-03-02", "--json"))
    result = vb("dividends", "pay", div["id"])
    assert result.exit_code == 4 and "2099-03-02" in result.stderr
    assert js(vb("dividends", "list", "--json"))[0]["status"] == "announced"


def test_split_and_reverse_split_with_orders_lots_and_a_dividend(vb, tmp_path):
    import shutil
    import subprocess

    js(vb("positions", "add", "X", "--qty", "100", "--cash", "1000", "--anchor", "40", "--at", "2026-01-01", "--json"))
    js(vb("trades", "add", "X", "buy", "10", "--price", "42", "--commission", "0", "--at", "2026-03-01", "--json"))
    order = js(vb("orders", "place", "X", "sell", "10", "--limit", "48", "--force", "--json"))
    js(vb("dividends", "add", "X", "--per-share", "0.5", "--ex-date", "2026-05-01", "--pay-date", "2026-05-10", "--json"))
    # Before the split: 110 shares costing 100·40 + 10·42 = 4 420; cash 1 000 − 420 = 580; the dividend on 110
    # shares: gross 55, tax 13.75, net 41.25 → cash 621.25.
    assert figures(vb)[:2] == ("110", "621.25")
    split = js(vb("splits", "add", "X", "4:1", "--date", "2026-04-01", "--json"))
    assert (split["ratio"], split["status"]) == ("4:1", "applied")
    # The split falls before the ex-date: 440 shares are entitled → gross 220, tax 55, net 165 → cash 580 + 165 = 745.
    # anchor 42 (the March fill) → 10.5 at the split → 10 after the 0.5 dividend; avg cost 4 420 / 440 = 10.0454545455.
    assert figures(vb) == ("440", "745.00", "10", "10.0454545455", "0")
    live = js(vb("orders", "show", order["id"], "--json"))
    assert (live["qty"], live["limit"]) == ("40", "12")  # remaining 10 × 4, limit 48 / 4
    again = js(vb("splits", "add", "X", "4:1", "--date", "2026-04-01", "--json"))
    assert again["id"] == split["id"] and figures(vb)[0] == "440"  # the same split twice changes nothing
    js(vb("trades", "add", "X", "sell", "40", "--price", "11", "--commission", "0", "--at", "2026-06-01", "--json"))
    # Sell 40 @ 11 after the split: cost removed 4 420·40/440 = 401.8181…; realized 440 − 401.818181818181818181818182.
    js(vb("splits", "add", "X", "1:10", "--date", "2026-07-01", "--json"))
    qty, cash, anchor, avg, realized = figures(vb)
    # Reverse: 400 → 40 shares; anchor 11 → 110; cost 4 018.181818181818181818181818 / 40 = 100.4545454545; cash 745 + 440.
    assert (qty, cash, anchor, avg, realized) == ("40", "1185.00", "110", "100.4545454545", "38.181818181818181818181818")
    live = js(vb("orders", "show", order["id"], "--json"))
    assert (live["qty"], live["limit"]) == ("4", "120")
    assert [s["ratio"] for s in js(vb("splits", "list", "X", "--json"))] == ["1:10", "4:1"]
    assert vb("db", "check").exit_code == 0
    ledger_file, bean_file = tmp_path / "x.journal", tmp_path / "x.beancount"
    ledger_file.write_text(vb("export", "all", "--format", "ledger").stdout)
    bean_file.write_text(vb("export", "all", "--format", "beancount").stdout)
    if shutil.which("hledger"):
        assert subprocess.run(["hledger", "-f", str(ledger_file), "check"], capture_output=True).returncode == 0
    bean_check = shutil.which("bean-check") or str(Path(sys.executable).parent / "bean-check")
    if Path(bean_check).exists():
        done = subprocess.run([bean_check, str(bean_file)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_import_of_shuffled_fills_equals_the_import_in_order(vb, tmp_path):
    rows = [("buy", "10", "100"), ("buy", "5", "90"), ("sell", "8", "110"), ("buy", "2", "95"), ("sell", "4", "120")]
    lines = [f"{pos},{side},{qty},{price},0,2026-02-0{i + 1}T10:00:00Z,k{pos}{i}" for pos in ("A", "B")
             for i, (side, qty, price) in enumerate(rows)]
    for pos in ("A", "B"):
        js(vb("positions", "add", pos, "--cash", "10000", "--at", "2026-01-01", "--json"))
    header = "position,side,qty,price,commission,executed_at,key\n"
    (tmp_path / "a.csv").write_text(header + "\n".join(lines[:5]) + "\n")
    (tmp_path / "b.csv").write_text(header + "\n".join(reversed(lines[5:])) + "\n")  # latest first
    for name in ("a.csv", "b.csv"):
        assert vb("import", "trades", str(tmp_path / name)).exit_code == 0
    # Both: buy 10 @ 100, buy 5 @ 90 (cost 1 450, 15 sh), sell 8 @ 110 (cost 773.33…, realized 106.66…), …
    assert figures(vb, "A") == figures(vb, "B")
    assert vb("db", "check").exit_code == 0
