"""`vb optimize`: every combination is a `simulate`, ranking, train/test split, workers, bad grids."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from conftest import VB_EXE, make_cli_runner
from vbcli.domain import grid
from vbcli.domain.numbers import round_ratio
from vbcli.errors import UsageError

SUMMARY = ("bars", "trades", "final_value", "return", "max_drawdown", "volatility", "sharpe", "commission",
           "dividends", "excess_return")


def price_rows(n: int, first: date = date(2026, 1, 1)) -> list[str]:
    """A swinging price, one row per calendar day: the rule trades often on it."""
    return [f"{first + timedelta(days=i)},{100 + 12 * math.sin(i / 3) + i / 10:.2f}" for i in range(n)]


@pytest.fixture
def vb(sqlite_url):  # optimize reads no ledger: one engine is enough
    return make_cli_runner(sqlite_url)


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text("date,price\n" + "\n".join(price_rows(60)) + "\n")
    return path


def optimize(vb, *args: str) -> list[dict]:
    done = vb("optimize", *args, "--format", "json")
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def simulate(vb, *args: str) -> dict:
    done = vb("simulate", *args, "--format", "json")
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def test_each_combination_equals_simulate(vb, prices):
    rows = optimize(vb, str(prices), "--cash", "10000", "--commission-rate", "0.1%", "--jobs", "1",
                    "--grid", "trigger=2%,5%", "--grid", "max-alloc=60%,80%")
    assert len(rows) == 4 and sorted(r["rank"] for r in rows) == [1, 2, 3, 4]
    for trigger in ("2%", "5%"):
        for alloc in ("60%", "80%"):
            alone = simulate(vb, str(prices), "--cash", "10000", "--commission-rate", "0.1%",
                             "--trigger", trigger, "--max-alloc", alloc)
            params = {"trigger": str(D(trigger[:-1]) / 100), "max-alloc": str(D(alloc[:-1]) / 100)}
            row = next(r for r in rows if r["params"] == params)
            assert {k: row[k] for k in SUMMARY} == {k: alone[k] for k in SUMMARY}
            held = alone["buy_and_hold"]
            assert {k: row["buy_and_hold"][k] for k in held} == held
    assert len({r["trades"] for r in rows}) > 1  # the grid really changes the policy


def test_rank_orders_each_metric():
    rows = [{"sharpe": D("0.5"), "max_drawdown": D("0.2")}, {"sharpe": None, "max_drawdown": D("0.1")},
            {"sharpe": D("0.9"), "max_drawdown": D("0.3")}, {"sharpe": D("0.5"), "max_drawdown": None}]
    assert grid.rank(rows, "sharpe") == [2, 0, 3, 1]  # higher first, tie in grid order, None last
    assert grid.rank(rows, "max_drawdown") == [1, 0, 2, 3]  # lower first, None last
    for metric in grid.METRICS:
        grid.rank(rows, metric)
    with pytest.raises(UsageError):
        grid.rank(rows, "alpha")


@pytest.mark.parametrize("metric", ["sharpe", "return", "excess_return", "calmar", "sortino", "max_drawdown", "volatility"])
def test_cli_ranks_by_metric(vb, prices, metric):
    rows = optimize(vb, str(prices), "--cash", "10000", "--grid", "trigger=2%:6%:2%", "--grid", "ratio=1,3",
                    "--metric", metric)
    values = [D(r[metric]) for r in rows if r[metric] is not None]
    assert values == sorted(values, reverse=metric not in ("max_drawdown", "volatility"))
    assert [r["rank"] for r in rows] == list(range(1, 7))


def test_sortino_and_calmar_by_hand():
    from vbcli.domain.policy import Guardrails, OrderPolicy
    from vbcli.domain.rule import PositionState
    from vbcli.domain.simulate import Bar, simulate

    # Buy-and-hold of 10000 at 100: 100 shares worth 10000 → 11000 → 9900 → 10890; daily
    # returns 0.1, -0.1, 0.1; mean 1/30; downside √(0.01 / 3) = 0.0577350…; Sortino
    # (1/30)/0.0577350·√252 = 0.5773503·15.8745079 = 9.165151.
    bars = [Bar(date(2026, 1, d), D(p)) for d, p in ((1, "100"), (2, "110"), (3, "99"), (4, "108.9"))]
    result = simulate(bars, PositionState(D(0), D(10000), anchor=D(100)), OrderPolicy(), Guardrails())
    assert round_ratio(result.buy_and_hold_sortino) == D("9.165151")
    # 252 daily returns, growth 1.21 over one year → annual 0.21; max drawdown 0.1 → Calmar 2.1.
    assert grid.calmar(D(121), D(100), 252, D("0.1")) == D("2.1")
    assert grid.calmar(D(101), D(100), 1, D(0)) is None


def test_train_until_splits_on_the_date(vb, prices, tmp_path):
    # 60 bars from 2026-01-01: the bar on 2026-01-20 is the 20th, and it belongs to the train part.
    rows = optimize(vb, str(prices), "--cash", "10000", "--grid", "trigger=3%,4%", "--train-until", "2026-01-20")
    assert all(r["bars"] == 20 and r["test"]["bars"] == 40 for r in rows)
    lines = price_rows(60)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("date,price\n" + "\n".join(lines[:20]) + "\n")
    test.write_text("date,price\n" + "\n".join(lines[20:]) + "\n")
    row = next(r for r in rows if r["params"] == {"trigger": "0.03"})
    alone_train = simulate(vb, str(train), "--cash", "10000", "--trigger", "3%")
    alone_test = simulate(vb, str(test), "--cash", "10000", "--trigger", "3%")
    assert {k: row[k] for k in SUMMARY} == {k: alone_train[k] for k in SUMMARY}
    assert {k: row["test"][k] for k in SUMMARY} == {k: alone_test[k] for k in SUMMARY}
    ranked = [D(r["sharpe"]) for r in rows]  # ranked on the train part
    assert ranked == sorted(ranked, reverse=True)


@pytest.mark.parametrize("day", ["2025-12-31", "2026-03-01"])
def test_train_until_must_leave_both_parts(vb, prices, day):
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", "trigger=3%", "--train-until", day)
    assert done.exit_code == 2 and "--train-until" in done.stderr


def test_jobs_never_change_the_result(vb, prices):
    args = (str(prices), "--cash", "10000", "--grid", "trigger=2%:5%:1%", "--grid", "ratio=1,2", "--format", "csv",
            "--train-until", "2026-02-01")
    one, two = vb("optimize", *args, "--jobs", "1"), vb("optimize", *args, "--jobs", "2")
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout and one.stdout.count("\n") == 9


@pytest.mark.parametrize("spec, words", [
    ("alpha=1,2", "NAME must be one of"),
    ("max-orders-per-day=1,2", "NAME must be one of"),
    ("trigger", "NAME must be one of"),
    ("trigger=", "empty value"),
    ("trigger=2%,,3%", "empty value"),
    ("trigger=6%:2%:1%", "reversed range"),
    ("trigger=2%:6%:0%", "zero step"),
    ("trigger=2%:6%:0", "zero step"),
    ("trigger=2%:6%", "FROM:TO:STEP"),
    ("trigger=0%,2%", "--trigger must be greater than zero"),
    ("trigger=150%", "above 100%"),
    ("trigger=2%:6%:-1%", "--grid trigger: --trigger must not be negative"),
    ("min-alloc=10%,1.5", "above 1"),
    ("ratio=0,1", "--ratio must be greater than zero"),
    ("ratio=1:2:10%", "--grid ratio"),
    ("trigger=2%,2%", "twice"),
    ("below-min=hold,sometimes", "--below-min must be hold, reject or clip"),
    ("below-min=hold:clip:1", "not a number option"),
    ("min-alloc=50%,80%", "min-alloc=0.8 is not a valid policy"),
])  # fmt: skip
def test_bad_grids_exit_2_naming_it(vb, prices, spec, words):
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", spec)
    assert done.exit_code == 2, done.stderr
    assert words in done.stderr and done.stdout == ""


def test_grid_values_are_parsed_like_the_option(vb, prices):
    rows = optimize(vb, str(prices), "--cash", "10000", "--grid", "anchor-reset=60%,150%", "--grid", "below-min=hold,clip")
    assert sorted(r["params"]["anchor-reset"] for r in rows) == ["0.6", "0.6", "1.5", "1.5"]


def test_overlapping_names_are_refused(vb, prices):
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", "trigger=2%,3%", "--grid", "trigger-up=2%,4%")
    assert done.exit_code == 2 and "both set trigger_up" in done.stderr
    done = vb("optimize", str(prices), "--cash", "10000", "--trigger", "3%", "--grid", "trigger-up=2%,4%")
    assert done.exit_code == 2 and "give it once" in done.stderr


def test_too_many_combinations_names_the_count(vb, prices):
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", "trigger=1%:100%:0.01%", "--grid", "ratio=1,2")
    assert done.exit_code == 2 and "9901 × 2" in done.stderr and "19802 combinations" in done.stderr
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", "trigger=1%:5%:1%", "--max-combinations", "4")
    assert done.exit_code == 2 and "5 combinations" in done.stderr


def test_bad_price_file_is_exit_7(vb, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("date,price\n2026-01-01,100\n2026-01-02,abc\n")
    done = vb("optimize", str(path), "--cash", "10000", "--grid", "trigger=2%,3%")
    assert done.exit_code == 7 and f"{path}:3:" in done.stderr


def test_start_is_required(vb, prices):
    done = vb("optimize", str(prices), "--grid", "trigger=2%,3%")
    assert done.exit_code == 2 and "--cash" in done.stderr


def test_table_has_buy_and_hold_and_top(vb, prices):
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", "trigger=2%:6%:1%", "--top", "2", "--format", "plain",
              "--train-until", "2026-02-01")
    lines = done.stdout.splitlines()
    assert done.exit_code == 0 and lines[0].split("\t")[:3] == ["rank", "trigger", "sharpe"]
    assert "test_sharpe" in lines[0] and [line.split("\t")[0] for line in lines[1:]] == ["1", "2", "buy&hold"]


def test_plot_marks_the_best_cell_without_escapes(vb, prices):
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", "trigger=2%,4%", "--grid", "ratio=1,2,3",
              "--format", "json", "--plot", "--metric", "max_drawdown")
    assert done.exit_code == 0
    rows = json.loads(done.stdout)
    best = rows[0]
    heat = done.stderr.splitlines()
    assert "\x1b" not in done.stderr and "lower is better" in heat[0]
    label = {"0.02": 4, "0.04": 5}[best["params"]["trigger"]]
    assert "*" + str(D(best["max_drawdown"]).quantize(D("0.0001"))) in heat[label]
    assert done.stderr.count("*") == 2  # the legend and the best cell


def test_plot_colour_only_at_a_terminal_without_no_color(monkeypatch):
    from vbcli.cli.optimize_plot import heatmap

    class Terminal(list):
        def write(self, text):
            self.append(text)

        def isatty(self):
            return True

    rows = [{"sharpe": D(v)} for v in ("0.1", "0.2", "0.3", "0.4")]
    axes = [grid.Axis("trigger", (D("0.02"), D("0.03"))), grid.Axis("ratio", (D(1), D(2)))]
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    heatmap(rows, axes, "sharpe", 3, out)
    assert "\x1b[" in "".join(out) and "*0.4000" in "".join(out)
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    heatmap(rows, axes, "sharpe", 3, out)
    assert "\x1b" not in "".join(out) and "*0.4000" in "".join(out)


def test_plot_refuses_three_dimensions(vb, prices):
    done = vb("optimize", str(prices), "--cash", "10000", "--grid", "trigger=2%,3%", "--grid", "ratio=1,2",
              "--grid", "max-trade=10%,20%", "--plot")
    assert done.exit_code == 2 and "three" not in done.stderr and "has 3" in done.stderr


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_ctrl_c_stops_every_worker(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("date,price\n" + "\n".join(price_rows(4000, date(1990, 1, 1))) + "\n")
    env = {**os.environ, "HOME": str(tmp_path), "VB_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([VB_EXE, "optimize", str(path), "--cash", "10000", "--grid", "trigger=1%:10%:1%",
                             "--grid", "ratio=1:3:0.5", "--jobs", "2", "--format", "csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        workers = [p for p in _children(proc.pid) if _alive(p)]
    assert len(workers) >= 2, "the workers never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    time.sleep(0.2)
    assert [p for p in workers if _alive(p)] == []
    assert sys.platform != "linux" or _children(proc.pid) == []


def test_position_start_and_its_policy(vb, prices):
    assert vb("positions", "add", "AAPL", "--qty", "40", "--cash", "6000", "--anchor", "100", "--ratio", "2").exit_code == 0
    rows = optimize(vb, str(prices), "--position", "AAPL", "--grid", "trigger=2%,4%")
    alone = simulate(vb, str(prices), "--position", "AAPL", "--trigger", "4%")
    row = next(r for r in rows if r["params"] == {"trigger": "0.04"})
    assert {k: row[k] for k in SUMMARY} == {k: alone[k] for k in SUMMARY}
    done = vb("optimize", str(prices), "--position", "AAPL", "--cash", "1", "--grid", "trigger=2%,4%")
    assert done.exit_code == 2 and "--position sets the start" in done.stderr
