"""`vb evaluate` (one position and --all), manual-order guardrails, `positions show --price`.

Every test starts from the position of the README: 100 shares, 10 000 cash, anchor 150,
default policy (triggers 3%, r 1.6667, commission 0.01%, min notional 100, max trade 20%,
allocation 25%..75%, 5 orders a day).
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from helpers import json_out


def _add(vb, *extra: str, symbol: str = "AAPL") -> dict:
    done = vb("positions", "add", symbol, "--qty", "100", "--cash", "10000", "--anchor", "150", *extra, "--json")
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


_json = json_out  # the shared helper, under the name these tests use


def _events(vb, type_: str | None = None) -> list[dict]:
    args = ("events", "list") + (("--type", type_) if type_ else ())
    return _json(vb, *args)


# At 145: change = -5/150 = -0.0333333333 ≤ -3% → BUY.  V = 100·145 + 10000 = 24500.
# raw = (150-145)·1.6667·24500/145² = 204170.75/21025 = 9.71085612366… → shown 9.7108561237.
# Caps: cash 10000/(145·1.0001) = 68.96, max_trade 0.2·24500/145 = 33.79; guard
# (0.75·24500 - 14500)/(145·1.000075) = 26.72: none binds. Floor to 6 decimals: 9.710856.
# notional = 9.710856·145 = 1408.07412; commission = 0.140807412 → 0.14 (half-up, cents).
# allocation before 14500/24500 = 0.5918367347; after (109.710856·145)/(24500 - 0.140807412)
# = 15908.07412/24499.859192588 = 0.6493128795.
BUY_145 = {
    "action": "BUY", "side": "buy", "qty": "9.710856", "price": "145", "notional": "1408.07412",
    "commission": "0.14", "change": "-0.0333333333", "raw_qty": "9.7108561237",
    "stock_alloc_before": "0.5918367347", "stock_alloc_after": "0.6493128795", "anchor": "150",
    "total_value": "24500", "reason": "price fell 3.33% below anchor 150 (trigger 3%)",
}  # fmt: skip


def test_evaluate_is_read_only_and_shows_the_working(vb) -> None:
    position = _add(vb)
    before = _events(vb)
    result = _json(vb, "evaluate", "AAPL", "--price", "145")
    assert result["position_id"] == position["id"]
    assert {k: result[k] for k in BUY_145} == BUY_145
    spec_keys = ["position_id", "action", "qty", "price", "notional", "commission", "reason", "change", "raw_qty",
                 "stock_alloc_before", "stock_alloc_after", "anchor", "total_value"]
    assert list(result)[: len(spec_keys)] == spec_keys
    assert "order" not in result and "trade" not in result
    assert _events(vb) == before
    assert _json(vb, "orders", "list") == []


def test_place_and_fill_buys_at_the_price(vb) -> None:
    _add(vb)
    result = _json(vb, "evaluate", "AAPL", "--price", "145", "--place", "--fill")
    assert result["order"]["status"] == "filled" and result["order"]["qty"] == "9.710856"
    assert result["trade"]["qty"] == "9.710856" and result["trade"]["commission"] == "0.14"
    position = _json(vb, "positions", "show", "AAPL")
    # qty 100 + 9.710856; q·P = 1408.07412 moves 1408.07 (cents, SPEC §3 revision 2): cash 10000 − 1408.07 − 0.14
    # = 8591.79; anchor = fill price;
    # avg_cost (100·150 + 1408.07412)/109.710856 = 149.557434134 (10 decimals).
    assert (D(position["qty"]), D(position["cash"]), D(position["anchor"])) == (D("109.710856"), D("8591.79"), D("145"))
    assert D(position["avg_cost"]) == D("149.557434134")
    types = [e["type"] for e in reversed(_events(vb))]
    assert types == ["position_created", "order_placed", "evaluation", "order_filled", "anchor_updated"]
    evaluation = _events(vb, "evaluation")[0]
    assert evaluation["order_id"] == result["order"]["id"]
    assert evaluation["data"]["raw_qty"] == "9.7108561237" and evaluation["data"]["action"] == "BUY"
    placed = _events(vb, "order_placed")[0]
    assert placed["data"]["source"] == "evaluate"


def test_place_without_fill_leaves_an_open_order_that_blocks_the_next_proposal(vb) -> None:
    _add(vb)
    result = _json(vb, "evaluate", "AAPL", "--price", "145", "--place")
    assert result["order"]["status"] == "open" and "trade" not in result
    again = _json(vb, "evaluate", "AAPL", "--price", "140")
    assert (again["action"], again["reason"]) == ("HOLD", "open order on the position")
    assert _json(vb, "positions", "show", "AAPL")["qty"] == "100"


def test_fill_without_place_is_a_usage_error(vb) -> None:
    _add(vb)
    done = vb("evaluate", "AAPL", "--price", "145", "--fill")
    assert done.exit_code == 2
    assert done.stderr == "vb: --fill needs --place: the order must be placed before it can be filled.\n"


@pytest.mark.parametrize("args", [("AAPL",), ("--price", "145"), ("AAPL", "--price", "abc"), ("AAPL", "--price", "0"),
                                  ("AAPL", "--all", "--prices", "x.csv"), ("--all", "--max-age", "4 days")])
def test_usage_errors(vb, args: tuple[str, ...]) -> None:
    _add(vb)
    assert vb("evaluate", *args).exit_code == 2


def test_unknown_and_closed_positions(vb) -> None:
    assert vb("evaluate", "NOPE", "--price", "1").exit_code == 3
    position = _add(vb)
    assert vb("positions", "close", "AAPL").exit_code == 0
    done = vb("evaluate", position["id"], "--price", "145")
    assert done.exit_code == 5 and "closed" in done.stderr


def test_hold_with_place_records_only_the_evaluation(vb) -> None:
    _add(vb)
    # At 148: change -1.33% is inside ±3%; allocation 14800/24800 = 59.7% inside 25%..75%.
    result = _json(vb, "evaluate", "AAPL", "--price", "148", "--place")
    assert (result["action"], result["qty"], result["order"]) == ("HOLD", "0", None)
    assert result["reason"] == "price change -1.33% is within the triggers (+3% / -3%)"
    assert [e["type"] for e in _events(vb)] == ["evaluation", "position_created"]
    assert _json(vb, "orders", "list") == []


def test_rejected_with_place_exits_0_and_places_nothing(vb) -> None:
    _add(vb, "--min-notional", "5000", "--below-min", "reject")
    result = _json(vb, "evaluate", "AAPL", "--price", "145", "--place", "--fill")
    assert (result["action"], result["order"], result["trade"]) == ("REJECTED", None, None)
    assert result["reason"] == "buy of 9.710856: notional 1408.07412 below min_notional 5000"
    assert [e["type"] for e in _events(vb)] == ["evaluation", "position_created"]
    assert _json(vb, "positions", "show", "AAPL")["cash"] == "10000"


def test_anchor_reset_only_with_place(vb) -> None:
    _add(vb)
    # |74 - 150| = 76 > 50% of 150 = 75 → ANCHOR_RESET.
    shown = _json(vb, "evaluate", "AAPL", "--price", "74")
    assert shown["action"] == "ANCHOR_RESET"
    assert _json(vb, "positions", "show", "AAPL")["anchor"] == "150"
    placed = _json(vb, "evaluate", "AAPL", "--price", "74", "--place")
    assert placed["action"] == "ANCHOR_RESET" and placed["order"] is None
    assert _json(vb, "positions", "show", "AAPL")["anchor"] == "74"
    reset = _events(vb, "anchor_updated")[0]
    assert reset["data"] == {"old": "150", "new": "74", "cause": "reset"}


def test_daily_cap_turns_the_proposal_into_hold(vb) -> None:
    _add(vb, "--max-orders-per-day", "1")
    assert _json(vb, "evaluate", "AAPL", "--price", "145", "--place", "--fill")["action"] == "BUY"
    # 140 is 3.45% below the new anchor 145, but one order was placed today already.
    result = _json(vb, "evaluate", "AAPL", "--price", "140", "--place", "--fill")
    assert (result["action"], result["reason"], result["trade"]) == ("HOLD", "daily order cap 1 reached", None)


def test_key_replays_and_conflicts(vb) -> None:
    _add(vb)
    first = _json(vb, "evaluate", "AAPL", "--price", "145", "--place", "--fill", "--key", "k1")
    again = vb("evaluate", "AAPL", "--price", "145", "--place", "--fill", "--key", "k1", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["trade"]["id"] == first["trade"]["id"]
    assert "already used" in again.stderr
    assert first["trade"]["key"] == "k1"
    assert len(_json(vb, "trades", "list")) == 1
    assert _json(vb, "positions", "show", "AAPL")["qty"] == "109.710856"
    assert vb("evaluate", "AAPL", "--price", "140", "--place", "--key", "k1").exit_code == 4


def test_dry_run_shows_the_fill_and_writes_nothing(vb) -> None:
    _add(vb)
    done = vb("evaluate", "AAPL", "--price", "145", "--place", "--fill", "--dry-run", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["trade"]["qty"] == "9.710856"
    assert "dry run" in done.stderr
    assert _json(vb, "positions", "show", "AAPL")["qty"] == "100"
    assert [e["type"] for e in _events(vb)] == ["position_created"]


# ---- --all ---------------------------------------------------------------------------------

def test_all_evaluates_every_open_position_and_lists_those_without_a_price(vb, tmp_path: Path) -> None:
    aapl = _add(vb)
    msft = _add(vb, symbol="MSFT")
    prices = tmp_path / "prices.csv"
    prices.write_text("symbol,price,source\naapl,145,close\nXYZ,10,close\n")
    rows = _json(vb, "evaluate", "--all", "--prices", str(prices))
    assert [(r["position_id"], r["action"]) for r in rows] == [(aapl["id"], "BUY"), (msft["id"], "HOLD")]
    assert {k: rows[0][k] for k in BUY_145} == BUY_145
    assert (rows[1]["reason"], rows[1]["price"], rows[1]["anchor"]) == ("no price", None, "150")
    assert _json(vb, "orders", "list") == []


def test_all_place_fill_from_stdin_in_one_transaction(vb) -> None:
    _add(vb)
    _add(vb, symbol="MSFT")
    # MSFT at 155: +3.33% → SELL; V = 15500 + 10000 = 25500;
    # raw = 5·1.6667·25500/155² = 212504.25/24025 = 8.8451300728… → 8.84513.
    rows = _json(vb, "evaluate", "--all", "--prices", "-", "--place", "--fill", input="symbol,price\nAAPL,145\nMSFT,155\n")
    assert [(r["symbol"], r["action"], r["qty"]) for r in rows] == [("AAPL", "BUY", "9.710856"), ("MSFT", "SELL", "8.84513")]
    assert all(r["trade"]["status"] == "executed" for r in rows)
    assert _json(vb, "positions", "show", "MSFT")["qty"] == "91.15487"
    assert len(_events(vb, "evaluation")) == 2


def test_all_bad_rows_report_every_problem_and_write_nothing(vb, tmp_path: Path) -> None:
    _add(vb)
    prices = tmp_path / "p.csv"
    prices.write_text("symbol,price\nAAPL,145\nMSFT,abc\n,5\nIBM,-2\nAAPL,146\n")
    done = vb("evaluate", "--all", "--prices", str(prices), "--place", "--fill")
    assert done.exit_code == 7
    assert done.stderr.splitlines() == [
        f"{prices}:3: price must be a plain decimal number such as 12.5, not 'abc'",
        f"{prices}:4: symbol is missing",
        f"{prices}:5: price must be greater than zero, not '-2'",
        f"{prices}:6: AAPL is listed twice (first on line 2)",
        f"vb: {prices} has 4 problems; nothing was done.",
    ]
    assert _json(vb, "orders", "list") == []


def test_all_missing_column_and_missing_file(vb, tmp_path: Path) -> None:
    prices = tmp_path / "p.csv"
    prices.write_text("name,price\nAAPL,1\n")
    done = vb("evaluate", "--all", "--prices", str(prices))
    assert done.exit_code == 7
    assert done.stderr.splitlines()[0] == (f"{prices}:1: no symbol column (also accepted: ticker); "
                                           "the header needs symbol,price rows, or use --map symbol=COLUMN")
    assert vb("evaluate", "--all", "--prices", str(tmp_path / "none.csv")).exit_code == 3


# ---- vb orders place: guardrails and daily cap (SPEC §5) -----------------------------------

def test_manual_order_past_the_guardrail_is_refused_and_logged(vb) -> None:
    _add(vb)
    # Buy 60 at the anchor 150: (160·150)/(25000 - 9000·0.0001) = 24000/24999.1 = 96.00% > 75%.
    done = vb("orders", "place", "AAPL", "buy", "60")
    assert done.exit_code == 5
    assert "would raise the stock allocation to 96.00%, above max_stock_alloc 75%" in done.stderr
    assert [e["type"] for e in _events(vb)] == ["order_rejected", "position_created"]
    assert _json(vb, "orders", "list") == []
    forced = _json(vb, "orders", "place", "AAPL", "buy", "60", "--force")
    assert forced["status"] == "open"
    data = _events(vb, "order_placed")[0]["data"]
    assert data["forced"] is True and "max_stock_alloc" in data["overridden"]


def test_manual_orders_past_the_daily_cap_are_refused(vb) -> None:
    _add(vb, "--max-orders-per-day", "1")
    assert vb("orders", "place", "AAPL", "sell", "1").exit_code == 0
    done = vb("orders", "place", "AAPL", "sell", "1")
    assert done.exit_code == 5 and "daily order cap of 1" in done.stderr
    assert len(_json(vb, "orders", "list")) == 1
    assert len(_events(vb, "order_rejected")) == 1


def test_manual_order_above_max_trade_uses_the_limit_price(vb) -> None:
    _add(vb)
    # At the limit 160, V = 16000 + 10000 = 26000 and max_trade allows 20%·26000 = 5200.
    # Sell 30: notional 4800 ≤ 5200, allowed (allocation after 11200/25999.52 = 43%).
    assert vb("orders", "place", "AAPL", "sell", "30", "--limit", "160").exit_code == 0
    # Sell 33: notional 5280 > 5200 → refused by max_trade.
    done = vb("orders", "place", "AAPL", "sell", "33", "--limit", "160")
    assert done.exit_code == 5 and "above max_trade 20%" in done.stderr


# ---- vb positions show --price ----------------------------------------------------------------

def test_positions_show_with_price(vb) -> None:
    _add(vb)
    shown = _json(vb, "positions", "show", "AAPL", "--price", "160")
    # stock 100·160 = 16000; total 26000; allocation 16000/26000 = 0.615385 (6 places);
    # unrealized (160 - 150)·100 = 1000; triggers 150·1.03 = 154.5 and 150·0.97 = 145.5.
    assert D(shown["stock_value"]) == 16000 and D(shown["total_value"]) == 26000
    assert shown["stock_alloc"] == "0.615385"
    assert D(shown["unrealized_pnl"]) == 1000
    assert D(shown["sell_trigger_price"]) == D("154.5") and D(shown["buy_trigger_price"]) == D("145.5")
    assert "price" not in _json(vb, "positions", "show", "AAPL")


def test_cron_style_run_as_a_process(vb_proc) -> None:
    # A real `vb` process: prices on stdin, everything placed and filled, table-free output.
    assert vb_proc("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    done = vb_proc("evaluate", "--all", "--prices", "-", "--place", "--fill", "--format", "csv", input="symbol,price\nAAPL,145\n")
    assert done.exit_code == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.startswith("position_id,action,qty,price,notional,commission,reason,")
    assert ",BUY,9.710856,145,1408.07412,0.14," in row
    shown = json.loads(vb_proc("positions", "show", "AAPL", "--json").stdout)
    assert (shown["qty"], shown["anchor"]) == ("109.710856", "145")
