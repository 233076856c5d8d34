"""Several prices in a row through `vb evaluate --place --fill`, ending in a position worked out by hand.

Start: 100 shares, 10 000 cash, anchor 150, default policy (triggers 3%, r 1.6667,
commission 0.01% rounded half-up to cents, allocation 25%..75%, max trade 20%).
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from pathlib import Path
from helpers import json_out


_json = json_out  # the shared helper, under the name these tests use


def _step(vb, price: str) -> dict:
    return _json(vb, "evaluate", "AAPL", "--price", price, "--place", "--fill")


def _open(vb, *extra: str) -> None:
    assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150", *extra).exit_code == 0


def test_buy_sell_hold_buy(vb) -> None:
    _open(vb)
    # Cash moves in cents (SPEC §3 revision 2); cost basis is exact, avg_cost = cost / qty.
    # 145: -3.33% → BUY. V = 24500; raw = (150/145 − 1)·1.6667·24500/145 = 9.7108561… → 9.710856;
    #      notional 1408.07412 → cash 1408.07, commission 0.1408… → 0.14.
    #      qty 109.710856, cash 10000 − 1408.07 − 0.14 = 8591.79, anchor 145, cost 16408.07412.
    # 150: +3.45% → SELL. V = 109.710856·150 + 8591.79 = 25048.4184;
    #      raw = (1 − 145/150)·1.6667·25048.4184/150 = 9.2773775438… → 9.277377; notional 1391.60655
    #      → cash 1391.61, commission 0.14. qty 100.433479, cash 9983.26, anchor 150;
    #      cost removed 16408.07412·9.277377/109.710856 = 1387.5006996338411…;
    #      realized 1391.60655 − 0.14 − 1387.5006996338411… = 3.9658503866158878570776988…
    # 150: change 0 → HOLD, nothing placed.
    # 140: -6.67% → BUY. V = 100.433479·140 + 9983.26 = 24043.94706;
    #      raw = (150/140 − 1)·1.6667·24043.94706/140 = 20.44594212… → 20.445942; notional 2862.43188
    #      → cash 2862.43, commission 0.29. qty 120.879421, cash 7120.54, anchor 140;
    #      cost 15020.5734203866… + 2862.43188 = 17883.0053003866…; avg_cost 147.9408583566 (10 decimals).
    actions = [(r["action"], r["qty"]) for r in (_step(vb, p) for p in ("145", "150", "150", "140"))]
    assert actions == [("BUY", "9.710856"), ("SELL", "9.277377"), ("HOLD", "0"), ("BUY", "20.445942")]
    position = _json(vb, "positions", "show", "AAPL")
    assert (D(position["qty"]), D(position["cash"]), D(position["anchor"])) == (D("120.879421"), D("7120.54"), D("140"))
    assert D(position["avg_cost"]) == D("147.9408583566")
    assert abs(D(position["realized_pnl"]) - D("3.96585038661588785707769886")) < D("1e-20")
    assert D(position["total_commission"]) == D("0.57")
    assert [t["side"] for t in _json(vb, "trades", "list")] == ["buy", "sell", "buy"]  # newest first
    assert len(_json(vb, "events", "list", "--type", "evaluation")) == 4
    assert vb("db", "check").exit_code == 0


def test_daily_cap_stops_the_sequence(vb) -> None:
    _open(vb, "--max-orders-per-day", "2")
    assert [_step(vb, p)["action"] for p in ("145", "150")] == ["BUY", "SELL"]
    # 145 is 3.33% below the anchor 150 again, but two orders were placed today.
    third = _step(vb, "145")
    assert (third["action"], third["reason"]) == ("HOLD", "daily order cap 2 reached")
    assert len(_json(vb, "orders", "list")) == 2


def test_falling_prices_stop_at_the_allocation_guardrail(vb) -> None:
    _open(vb, "--max-orders-per-day", "50")
    # 142: -5.33% → BUY; V = 24200; raw = 8·1.6667·24200/142² = 16.002436… (no cap binds).
    #      notional 2272.345912 → cash 2272.35 (cents), commission 0.23 → qty 116.002436, cash 7727.42.
    # 134: -5.63% → BUY; V = 116.002436·134 + 7727.42 = 23271.746424; raw 17.28 but the
    #      guardrail allows (0.75·V - 15544.326424)/(134·(1 + 0.75·0.0001)) = 14.2488074…
    #      → trimmed to 14.248807.
    first, second = _step(vb, "142"), _step(vb, "134")
    assert (first["qty"], second["qty"]) == ("16.002436", "14.248807")
    assert second["reason"].endswith("trimmed to max_stock_alloc 75%")
    later = [_step(vb, p) for p in ("127", "120", "113", "107")]
    assert all(r["action"] == "BUY" and D(r["stock_alloc_after"]) <= D("0.75") for r in later)
    # Each fill leaves the allocation at most 75%; a price still at the anchor proposes nothing.
    shown = _json(vb, "positions", "show", "AAPL", "--price", "107")
    assert D(shown["stock_alloc"]) <= D("0.75")
    assert _step(vb, "107")["action"] == "HOLD"


def test_simulate_runs_the_same_rule_as_evaluate(vb, tmp_path: Path) -> None:
    _open(vb, "--max-orders-per-day", "50")
    prices = ["150", "145", "150", "150", "140"]
    path = tmp_path / "prices.csv"
    path.write_text("date,price\n" + "".join(f"2026-01-{i + 1:02d},{p}\n" for i, p in enumerate(prices)))
    simulated = json.loads(vb("simulate", str(path), "--position", "AAPL", "--trades", "--json").stdout)
    for price in prices:
        _step(vb, price)
    position = _json(vb, "positions", "show", "AAPL")
    last = simulated["trade_log"][-1]
    assert simulated["trades"] == 3
    assert (D(last["qty_after"]), D(last["cash_after"])) == (D(position["qty"]), D(position["cash"]))
    assert (D(position["qty"]), D(position["cash"])) == (D("120.879421"), D("7120.54"))  # test_buy_sell_hold_buy
