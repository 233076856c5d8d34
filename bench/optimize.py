"""`vb optimize` and engine benchmarks (SPEC §8.6): every figure a ratio measured in one run.

    .venv/bin/python bench/optimize.py        # alone; bench/run.py calls optimize_bench()

- the engine: `simulate` of 50 000 bars in process, this tree against the engine of
  ENGINE_BASELINE (the commit before the optimiser, unpacked with `git archive`), runs alternated;
- a 5 × 5 grid over 2 148 daily bars: the grid with 2 workers against 1, and 1 worker against
  25 sequential `backtest.run` calls in one process (the same parsed bars);
- whole `vb optimize` commands (start-up and file parsing included), and a 10 × 10 grid over
  ten years of daily prices.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from run import VB, Report, Timing, measure  # noqa: E402

ENGINE_BASELINE = "c8a744b"  # the engine before the optimiser's speed work
ROOT = Path(__file__).resolve().parent.parent
GRID = ["--grid", "trigger=2%:6%:1%", "--grid", "ratio=1:2:0.25"]  # 5 × 5
ENGINE_PROBE = """
import sys, time
from decimal import Decimal
sys.path.insert(0, sys.argv[1])
import vbcli
assert vbcli.__file__.startswith(sys.argv[1]), vbcli.__file__
try:
    from vbcli.services.io.prices import read_bars
except ImportError:  # the baseline tree, before services/ had folders
    from vbcli.services.prices import read_bars
from vbcli.domain.policy import Guardrails, OrderPolicy
from vbcli.domain.simulate import simulate, start_from_cash
bars = read_bars(sys.argv[2])
wall, cpu = [], []
for _ in range(int(sys.argv[3])):
    started, used = time.perf_counter(), time.process_time()
    simulate(bars, start_from_cash(Decimal(100000), bars[0].price, OrderPolicy()), OrderPolicy(), Guardrails(),
             initial_capital=Decimal(100000))
    wall.append(time.perf_counter() - started)
    cpu.append(time.process_time() - used)
print(min(wall), min(cpu))
"""


def write_prices(path: Path, bars: int, *, seed: int = 7) -> None:
    """Trading days (Monday to Friday) of a random walk with drift, two decimals."""
    rng = random.Random(seed)
    price, day, rows = 100.0, date(2014, 1, 1), []
    while len(rows) < bars:
        if day.weekday() < 5:
            price *= math.exp(rng.gauss(0.0003, 0.015))
            rows.append(f"{day.isoformat()},{price:.2f}")
        day += timedelta(days=1)
    path.write_text("date,price\n" + "\n".join(rows) + "\n")


def sine_prices(path: Path, bars: int) -> None:
    """The 50 000-bar series of bench/run.py's simulate line."""
    start = date(1900, 1, 1)
    rows = [f"{start + timedelta(days=i)},{100 * math.exp(0.3 * math.sin(i / 50) + 0.0001 * i):.2f}" for i in range(bars)]
    path.write_text("date,price\n" + "\n".join(rows) + "\n")


def engine_bench(report: Report, work: Path, rounds: int = 3) -> None:
    prices = work / "engine.csv"
    sine_prices(prices, 50_000)
    old = work / "baseline"
    old.mkdir(exist_ok=True)
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ENGINE_BASELINE, "vbcli"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        report.note("simulate engine, 50 000 bars: this tree vs " + ENGINE_BASELINE, "skipped: no git history")
        return
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    wall: dict[str, list[float]] = {"new": [], "old": []}
    cpu: dict[str, list[float]] = {"new": [], "old": []}
    for _ in range(rounds):  # alternated, so both see the same load
        for name, tree in (("old", old), ("new", ROOT)):
            done = subprocess.run([sys.executable, "-c", ENGINE_PROBE, str(tree), str(prices), "2"],
                                  capture_output=True, text=True, check=True)
            took, used = (float(x) for x in done.stdout.split())
            wall[name].append(took)
            cpu[name].append(used)
    # CPU time: a single-threaded loop on a machine shared by others; wall time in the note.
    new, base = Timing(min(cpu["new"]), 0), Timing(min(cpu["old"]), 0)
    report.add(f"simulate engine, 50 000 bars (CPU time), vs the engine of {ENGINE_BASELINE}", base, new, "this tree",
               "≥ 3× (ratio = speed-up)", f"({50_000 / new.median:,.0f} vs {50_000 / base.median:,.0f} bars per CPU second; "
               f"wall {min(wall['old']) / min(wall['new']):.2f}×, load average {os.getloadavg()[0]:.1f})")


def _grid_phase(prices: Path) -> tuple[Any, list[dict[str, Any]], Any]:
    """What `vb optimize` has before the workers start: parsed bars and the combinations."""
    from vbcli.cli import optimize
    from vbcli.domain import grid
    from vbcli.services.io.prices import read_bars

    axes = optimize.parse_grid([GRID[1], GRID[3]], {}, 1000)
    changes = [optimize._settings_of({}, combo) for combo in grid.combinations(axes)]
    start = {"cash": Decimal(10000), "qty": None, "anchor": None, "withholding": Decimal("0.25")}
    return {"bars": read_bars(str(prices)), "cut": None, "start": start}, changes, optimize.run_combination


def grid_bench(report: Report, work: Path, rounds: int = 3) -> None:
    from vbcli.parallel import run_all
    from vbcli.services.ledger import backtest

    prices = work / "grid.csv"
    write_prices(prices, 2148)
    shared, changes, combination = _grid_phase(prices)
    times: dict[str, list[float]] = {"jobs1": [], "jobs2": [], "plain": []}
    for _ in range(rounds):
        for name in times:
            started = time.perf_counter()
            if name == "plain":
                for change in changes:
                    backtest.run(bars=shared["bars"], settings=change, **shared["start"])
            else:
                run_all(combination, changes, shared=shared, jobs=int(name[-1]))
            times[name].append(time.perf_counter() - started)
    best = {name: Timing(min(values), 0) for name, values in times.items()}
    report.add("5 × 5 grid over 2 148 bars in process: --jobs 1 vs --jobs 2", best["jobs1"], best["jobs2"], "--jobs 2",
               "≥ 1.7× (ratio = speed-up)", f"(load average {os.getloadavg()[0]:.1f})")
    report.add("5 × 5 grid, --jobs 1 vs 25 sequential backtest.run", best["jobs1"], best["plain"], "25 × backtest.run",
               "≤ 1.2×", "(the same parsed bars; Calmar per combination added)")


def command_bench(report: Report, work: Path, env: dict[str, str], repeats: int = 3) -> None:
    prices = work / "grid.csv"
    if not prices.exists():
        write_prices(prices, 2148)
    argv = [VB, "optimize", str(prices), "--cash", "10000", *GRID, "--format", "csv"]
    one = measure([*argv, "--jobs", "1"], repeats=repeats, env=env)
    two = measure([*argv, "--jobs", "2"], repeats=repeats, env=env)
    report.add("vb optimize 5 × 5 over 2 148 bars, whole command: --jobs 1 vs --jobs 2", one, two, "--jobs 2",
               "documented (ratio = speed-up; start-up included)")
    decade = work / "decade.csv"
    write_prices(decade, 2520, seed=11)
    big = [VB, "optimize", str(decade), "--cash", "10000", "--grid", "trigger=1%:10%:1%", "--grid", "ratio=0.5:5:0.5",
           "--train-until", "2021-12-31", "--format", "csv", "--jobs", "2"]
    report.note("vb optimize 10 × 10 over 2 520 bars (ten years), --train-until, --jobs 2",
                f"{measure(big, repeats=1, env=env).median:.1f} s")


def optimize_bench(report: Report, work: Path, env: dict[str, str]) -> None:
    """All the lines above; called by bench/run.py."""
    engine_bench(report, work)
    grid_bench(report, work)
    command_bench(report, work, env)


def main() -> None:
    report = Report()
    with tempfile.TemporaryDirectory(prefix="vb-bench-opt-") as tmp:
        work = Path(tmp)
        optimize_bench(report, work, {"VB_DATA_DIR": str(work / "data"), "VB_FORMAT": "plain"})
    print("\n" + report.markdown("## vb optimize and the engine"))


if __name__ == "__main__":
    main()
