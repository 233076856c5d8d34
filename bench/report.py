"""Prices and `vb report` benchmarks (issue 16), ratios against baselines of the same run.

    .venv/bin/python bench/report.py            # 100 000 fills over 30 positions, 200 000 prices; 1 000 000 prices imported
    .venv/bin/python bench/report.py --quick    # 10 000 fills, 20 000 prices; 100 000 prices imported

- `vb report` (every position and portfolio row) against `vb positions list` on the same ledger
  (target ≤ 2×);
- `vb prices import` of N prices against raw sqlite3 executemany of the same rows into a table
  of the same shape (target: vb at least 1/4 of the raw speed, i.e. ratio ≤ 4×), peak memory.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import VB, Report, Timing, measure, run_vb, standalone  # noqa: E402

POSITIONS = 30
START = datetime(2023, 1, 2, tzinfo=timezone.utc)


def _prices_csv(path: Path, symbols: int, per_symbol: int) -> int:
    """Daily closes per symbol, one row each: `symbol,date,price`."""
    with open(path, "w") as out:
        out.write("symbol,date,price\n")
        for s in range(symbols):
            for d in range(per_symbol):
                out.write(f"S{s:02d},{(START + timedelta(days=d)).date()},{100 + (d * 7 + s) % 40}.{d % 100:02d}\n")
    return symbols * per_symbol


def build(db: Path, env: dict[str, str], fills: int, prices: int, work: Path) -> None:
    for s in range(POSITIONS):
        run_vb(db, env, "positions", "add", f"S{s:02d}", "--qty", "1000", "--cash", "1000000", "--anchor", "100", "--at", "2023-01-01")
    rows = ["position,side,qty,price,commission,executed_at,key\n"]
    for i in range(fills):
        side = "buy" if (i // POSITIONS) % 2 == 0 else "sell"
        moment = START + timedelta(minutes=17 * i)
        rows.append(f"S{i % POSITIONS:02d},{side},1,{100 + i % 40}.5,0,{moment:%Y-%m-%dT%H:%M:%SZ},k{i}\n")
    (work / "fills.csv").write_text("".join(rows))
    run_vb(db, env, "import", "trades", str(work / "fills.csv"))
    _prices_csv(work / "closes.csv", POSITIONS, prices // POSITIONS)
    run_vb(db, env, "prices", "import", str(work / "closes.csv"))


def raw_import(path: Path, csv_path: Path) -> float:
    """sqlite3 executemany of the same rows into a prices table of vb's shape (text decimals and times)."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE prices (symbol TEXT NOT NULL, at TEXT NOT NULL, price TEXT NOT NULL, source TEXT NOT NULL, "
                 "created_at TEXT NOT NULL, PRIMARY KEY (symbol, at))")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with open(csv_path) as lines:
        next(lines)
        rows = ((s, f"{d}T00:00:00.000000Z", p, "import", now) for s, d, p in (line.rstrip("\n").split(",") for line in lines))
        conn.executemany("INSERT INTO prices VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def report_bench(report: Report, work: Path, env: dict[str, str], fills: int, prices: int, imported: int, repeats: int) -> None:
    db = work / "report.sqlite"
    started = time.perf_counter()
    build(db, env, fills, prices, work)
    report.note(f"build: {POSITIONS} positions, {fills:,} fills, {prices:,} prices (vb import)", f"{time.perf_counter() - started:.1f} s")
    report.add(f"vb report @ {fills:,} fills, {prices:,} prices", measure([VB, "--db", str(db), "report"], repeats=repeats, env=env),
               measure([VB, "--db", str(db), "positions", "list"], repeats=repeats, env=env), "vb positions list", "≤ 2×")
    big = work / "big-prices.csv"
    _prices_csv(big, 100, imported // 100)
    target = work / "prices.sqlite"
    run_vb(target, env, "portfolios", "add", "bench")  # creates the ledger
    vb_import = measure([VB, "--db", str(target), "prices", "import", str(big)], repeats=1, env=env)
    raw = raw_import(work / "raw.sqlite", big)
    report.add(f"vb prices import of {imported:,} prices", vb_import, Timing(raw, 0), "sqlite3 executemany",
               "≤ 4× (≥ 1/4 of raw)", f"peak {vb_import.peak_kb / 1024:.0f} MB")


if __name__ == "__main__":
    standalone(__doc__, "Prices and report", lambda report, folder, env, quick: report_bench(
        report, folder, env, *((10_000, 20_010, 100_000, 3) if quick else (100_000, 200_010, 1_000_000, 5))))
