"""`vb simulate`: a hand-computed backtest, start options, bad files, output formats, --plot."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

PRICES = "date,price\n2026-01-02,100\n2026-01-05,95\n2026-01-06,90\n2026-01-07,100\n2026-01-08,105\n"

# --cash 10000, default policy: start 50 shares at 100 + 5000 cash, anchor 100. Cash moves in
# cents, as in the ledger (SPEC §3 revision 2): a fill's cash is q·P rounded half-up to cents.
# 01-02 at 100: change 0, allocation 50% → HOLD; value 10000.
# 01-05 at 95: -5% → BUY. V = 4750 + 5000 = 9750; raw = 5·1.6667·9750/95² = 81251.625/9025
#   = 9.00295… → 9.00295; notional 855.28025 → 855.28; commission 0.0855 → 0.09.
#   qty 59.00295, cash 5000 - 855.28 - 0.09 = 4144.63; value 5605.28025 + 4144.63 = 9749.91025.
# 01-06 at 90: -5.26% → BUY. V = 5310.2655 + 4144.63 = 9454.8955; raw = 5·1.6667·V/8100
#   = 9.7274532… → 9.727453; notional 875.47077 → 875.47; commission 0.0875 → 0.09.
#   qty 68.730403, cash 3269.07; value 6185.73627 + 3269.07 = 9454.80627.
# 01-07 at 100: +11.11% → SELL. V = 6873.0403 + 3269.07 = 10142.1103;
#   raw = 10·1.6667·V/10000 = 16.9038552… → 16.903855; notional 1690.3855 → 1690.39; commission 0.17.
#   qty 51.826548, cash 4959.29; value 10141.9448.
# 01-08 at 105: +5% → SELL. V = 5441.78754 + 4959.29 = 10401.07754;
#   raw = 5·1.6667·V/11025 = 7.8618938… → 7.861893; notional 825.498765 → 825.50; commission 0.08.
#   qty 43.964655, cash 5784.71; value 4616.288775 + 5784.71 = 10400.998775.
# Strategy: final 10401.00, return 0.0400998775 → 0.040100, max drawdown from the peak 10000 to
# 9454.80627 = 0.0545193… → 0.054519, commission 0.09 + 0.09 + 0.17 + 0.08 = 0.43.
# Buy-and-hold: 100 shares at 100 → 10000, 9500, 9000, 10000, 10500: return 0.05, max
# drawdown 0.1. Daily returns -0.05, -1/19, 1/9, 0.05: mean 0.0146199, sample stdev 0.0801266,
# volatility 0.0801266·√252 = 1.27197, Sharpe 0.0146199/0.0801266·√252 = 2.896461.
# Excess return 0.0400998775 - 0.05 = -0.0099001225 → -0.009900.
EXPECTED = {
    "bars": 5, "trades": 4, "final_value": "10401.00", "return": "0.0401", "max_drawdown": "0.054519",
    "commission": "0.43", "dividends": "0.00", "excess_return": "-0.0099", "initial_value": "10000.00",
    "first_date": "2026-01-02", "last_date": "2026-01-08",
}  # fmt: skip
EXPECTED_BH = {"final_value": "10500.00", "return": "0.05", "max_drawdown": "0.1", "volatility": "1.27197", "sharpe": "2.896461"}


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(PRICES)
    return path


def _json(vb, *args: str, input: str | None = None) -> dict:
    done = vb("simulate", *args, "--format", "json", input=input)
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def test_hand_computed_backtest(vb, prices: Path) -> None:
    result = _json(vb, str(prices), "--cash", "10000", "--trades")
    assert {k: result[k] for k in EXPECTED} == EXPECTED
    assert result["buy_and_hold"] == EXPECTED_BH
    assert result["start"] == {"qty": "50", "cash": "5000", "receivable": "0", "anchor": "100"}
    log = [(t["date"], t["side"], t["qty"], t["commission"]) for t in result["trade_log"]]
    assert log == [("2026-01-05", "buy", "9.00295", "0.09"), ("2026-01-06", "buy", "9.727453", "0.09"),
                   ("2026-01-07", "sell", "16.903855", "0.17"), ("2026-01-08", "sell", "7.861893", "0.08")]
    assert D(result["trade_log"][-1]["qty_after"]) == D("43.964655")
    assert D(result["trade_log"][-1]["cash_after"]) == D("5784.71")


def test_simulate_writes_nothing_and_needs_no_ledger(vb, prices: Path, db_url: str) -> None:
    assert _json(vb, str(prices), "--cash", "10000")["trades"] == 4
    if "://" not in db_url:
        assert not Path(db_url).exists()


def test_plain_summary_compares_strategy_and_buy_and_hold(vb, prices: Path) -> None:
    done = vb("simulate", str(prices), "--cash", "10000", "--format", "plain")
    assert done.exit_code == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "metric\tstrategy\tbuy_and_hold"
    assert "final_value\t10401.00\t10500.00" in lines
    assert "return\t0.0401\t0.05" in lines
    assert "trades\t4\t" in lines


def test_csv_with_trades_prints_the_trade_log(vb, prices: Path) -> None:
    done = vb("simulate", str(prices), "--cash", "10000", "--trades", "--format", "csv")
    assert done.exit_code == 0
    rows = done.stdout.splitlines()
    assert rows[0] == "date,side,qty,price,notional,commission,anchor_before,qty_after,cash_after,reason"
    assert rows[1].startswith("2026-01-05,buy,9.00295,95,855.28025,0.09,100,59.00295,4144.63,")
    assert len(rows) == 5


def test_table_summary_and_plot(vb, prices: Path) -> None:
    done = vb("simulate", str(prices), "--cash", "10000", "--format", "table", "--plot")
    assert done.exit_code == 0
    assert "strategy vs buy-and-hold" in done.stdout and "10401.00" in done.stdout
    chart = done.stdout[done.stdout.index("value: strategy vs buy and hold"):]
    assert "┌" in chart and "└" in chart
    assert "▲" in chart and "▼" in chart  # two buys, two sells
    assert "\x1b[" not in chart  # not a terminal: no colour codes


def test_plot_with_json_keeps_stdout_parseable(vb, prices: Path) -> None:
    done = vb("simulate", str(prices), "--cash", "10000", "--json", "--plot")
    assert done.exit_code == 0
    assert json.loads(done.stdout)["trades"] == 4
    assert "value: strategy vs buy and hold" in done.stderr


def test_start_from_shares_and_an_anchor(vb, tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    path.write_text("date,close\n2026-01-02,101\n2026-01-05,102\n")
    # 10 shares, anchor 100, cash 1000: at 101 and 102 the change stays below 3% and the
    # allocation 1010/2010 and 1020/2020 inside 25%..75% → no trade; value 10·102 + 1000 = 2020.
    # Initial value (the start at the first price) 10·101 + 1000 = 2010; return 10/2010 = 0.004975.
    result = _json(vb, str(path), "--qty", "10", "--anchor", "100", "--cash", "1000")
    assert (result["trades"], result["final_value"], result["initial_value"], result["return"]) == (0, "2020.00", "2010.00", "0.004975")


def test_dividend_column(vb, tmp_path: Path) -> None:
    path = tmp_path / "div.csv"
    path.write_text("date,price,dividend\n2026-01-02,100,\n2026-01-05,100,1\n")
    # 50 shares + 5000 cash; on 01-05 the net 50·1·(1 - 25%) = 37.5 goes to cash and the anchor
    # becomes 99; 100 is +1.01% from it → HOLD. Final 5000 + 5037.5 = 10037.50. Buy-and-hold:
    # 100 shares, 75 net → 10075.00.
    result = _json(vb, str(path), "--cash", "10000")
    assert (result["dividends"], result["final_value"], result["buy_and_hold"]["final_value"]) == ("37.50", "10037.50", "10075.00")


def test_policy_options_apply(vb, prices: Path) -> None:
    # Triggers of 10%, anchor 100: 95 is -5% → HOLD; 90 is exactly -10% → BUY (bounds are
    # inclusive), anchor 90; 100 is +11.11% → SELL, anchor 100; 105 is +5% → HOLD.
    result = _json(vb, str(prices), "--cash", "10000", "--trigger", "10%", "--trades")
    assert [(t["date"], t["side"]) for t in result["trade_log"]] == [("2026-01-06", "buy"), ("2026-01-07", "sell")]
    assert vb("simulate", str(prices), "--cash", "10000", "--trigger", "10").exit_code == 2


def test_start_from_a_position_is_read_only(vb, prices: Path) -> None:
    assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "50", "--cash", "5000", "--anchor", "100").exit_code == 0
    before = vb("events", "list", "--json").stdout
    result = _json(vb, str(prices), "--position", "AAPL")
    # The same start as --cash 10000 (50 shares, 5000 cash, anchor 100) gives the same run.
    assert {k: result[k] for k in ("trades", "final_value", "return", "max_drawdown")} == {
        "trades": 4, "final_value": "10401.00", "return": "0.0401", "max_drawdown": "0.054519"}
    assert vb("events", "list", "--json").stdout == before
    assert vb("simulate", str(prices), "--position", "AAPL", "--cash", "1").exit_code == 2
    assert vb("simulate", str(prices), "--position", "MSFT").exit_code == 3


def test_prices_from_stdin(vb) -> None:
    assert _json(vb, "-", "--cash", "10000", input=PRICES)["final_value"] == "10401.00"


def test_no_start_is_a_usage_error(vb, prices: Path) -> None:
    done = vb("simulate", str(prices))
    assert done.exit_code == 2 and "--cash" in done.stderr


@pytest.mark.parametrize(
    ("content", "problems"),
    [
        ("date,price\n2026-01-02,100\n2026-01-01,x\n2026-01-03,0\nfoo,5\n2026-01-03,-1\n", [
            "3: price must be a plain decimal number such as 12.5, not 'x'",
            "3: date 2026-01-01 comes before the date on line 2; rows must be oldest first, one per date",
            "4: price must be greater than zero, not '0'",
            "5: date 'foo' is not a date such as 2026-11-26",
            "6: price must be greater than zero, not '-1'",
            "6: date 2026-01-03 repeats the date on line 4; rows must be oldest first, one per date",
        ]),
        ("when,value\n2026-01-02,1\n", [
            "1: no date column (also accepted: time, timestamp, day); the header needs date,price rows (or date,close), or use --map date=COLUMN",
            "1: no price column (also accepted: close); the header needs date,price rows (or date,close), or use --map price=COLUMN",
        ]),
        ("date,price\n", ["2: no price rows after the header"]),
        ("", ["1: empty input: expected date,price rows (or date,close)"]),
        ("date,price,dividend\n2026-01-02,,-1\n", [
            "2: price is missing", "2: dividend must not be negative, got '-1'"]),
    ],
)  # fmt: skip
def test_bad_files_report_every_problem(vb, tmp_path: Path, content: str, problems: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    done = vb("simulate", str(path), "--cash", "1000")
    assert done.exit_code == 7
    assert done.stdout == ""
    assert done.stderr.splitlines()[:-1] == [f"{path}:{p}" for p in problems]


def test_missing_file_is_not_found(vb, tmp_path: Path) -> None:
    done = vb("simulate", str(tmp_path / "none.csv"), "--cash", "1000")
    assert done.exit_code == 3 and "none.csv" in done.stderr


def test_progress_bar_only_for_long_runs_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from vbcli.cli import simulate

    from vbcli import render

    short = 10
    with render.progress("simulating", short, wanted=short > simulate.PROGRESS_FROM) as advance:
        assert simulate._on_bar(advance, short) is None  # short run (and the test's stderr is no terminal either)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    total = simulate.PROGRESS_FROM + 1
    with render.progress("simulating", total, wanted=total > simulate.PROGRESS_FROM) as advance:
        on_bar = simulate._on_bar(advance, total)
        assert on_bar is not None
        for index in range(total):
            on_bar(index)
