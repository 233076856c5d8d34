"""Lots and gains benchmarks (issue 12), ratios against baselines measured in the same run.

    .venv/bin/python bench/gains.py            # a ledger of 100 000 fills; 10 000 open lots
    .venv/bin/python bench/gains.py --quick    # 10 000 fills; 2 000 open lots

- `vb gains --year Y` over a FIFO position of N fills against `vb trades list` of the same
  ledger (target ≤ 2×);
- a sell against many open lots against the same sell against one open lot (target ≤ 2×).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import VB, Report, measure, run_vb, standalone  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _fifo_position(db: Path, env: dict[str, str], fills: int, buys_only: bool, work: Path, qty: int = 1) -> None:
    """Position T in a FIFO portfolio with `fills` imported fills of `qty`, one minute apart, keyed."""
    run_vb(db, env, "portfolios", "add", "lots", "--cost-basis", "fifo")
    run_vb(db, env, "positions", "add", "T", "--portfolio", "lots", "--qty", "0", "--cash", "100000000", "--at", "2024-12-01")
    rows = []
    for i in range(fills):
        side = "buy" if buys_only or (i // 4) % 2 == 0 else "sell"
        rows.append(f"lots/T,{side},{qty},{100 + i % 50}.25,0,{START + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ},k{i}\n")
    path = work / f"fills-{db.stem}.csv"
    path.write_text("position,side,qty,price,commission,executed_at,key\n" + "".join(rows))
    run_vb(db, env, "import", "trades", str(path))


def gains_bench(report: Report, work: Path, env: dict[str, str], fills: int, lots: int, repeats: int) -> None:
    big = work / "gains.sqlite"
    _fifo_position(big, env, fills, False, work)
    report.add(f"vb gains --year 2025 @ {fills:,} fills", measure([VB, "--db", str(big), "gains", "--year", "2025"], repeats=repeats, env=env),
               measure([VB, "--db", str(big), "trades", "list"], repeats=repeats, env=env), "vb trades list", "≤ 2×")
    many, one = work / "many-lots.sqlite", work / "one-lot.sqlite"
    _fifo_position(many, env, lots, True, work)
    _fifo_position(one, env, 1, True, work, qty=1000)
    sell = ["trades", "add", "lots/T", "sell", "1", "--price", "120", "--commission", "0"]
    report.add(f"a sell against {lots:,} open lots", measure([VB, "--db", str(many), *sell], repeats=repeats, env=env),
               measure([VB, "--db", str(one), *sell], repeats=repeats, env=env), "a sell against 1 lot", "≤ 2×")


if __name__ == "__main__":
    standalone(__doc__, "Lots and gains", lambda report, folder, env, quick: gains_bench(
        report, folder, env, 10_000 if quick else 100_000, 2_000 if quick else 10_000, 3 if quick else 5))
