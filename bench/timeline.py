"""Timeline benchmarks (issue 10): what a back-dated write costs against an append.

    .venv/bin/python bench/timeline.py          # positions of 1 000, 10 000 and 100 000 fills
    .venv/bin/python bench/timeline.py --quick  # 1 000 and 10 000 only

For each size one position gets its fills by `vb import trades` (in time order, keyed), then:
- append: `vb trades add` of a fill later than every other (the baseline of the ratios);
- back-dated, 100 fills after it: cost should not grow with the position;
- back-dated, half the fills after it: cost grows with the fills after it, not the ledger;
- import of the same fills shuffled against in time order (target ≤ 2×, at the largest size).
Also run from bench/run.py (its last section).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import VB, Report, Timing, measure  # noqa: E402

START = datetime(2021, 1, 1, tzinfo=timezone.utc)


def fills_csv(n: int, path: Path, *, shuffled: bool) -> None:
    """n keyed fills one minute apart: blocks of small buys and sells, so shares never run out."""
    rng = random.Random(n)
    rows = []
    for i in range(n):
        side = "buy" if (i // 4) % 2 == 0 else "sell"
        price = f"{90 + rng.randrange(2000) / 100:.2f}"
        rows.append(f"T,{side},{1 + i % 3},{price},0,{START + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ},k{i}\n")
    if shuffled:
        rng.shuffle(rows)
    path.write_text("position,side,qty,price,commission,executed_at,key\n" + "".join(rows))


def ledger(work: Path, name: str, env: dict[str, str]) -> Path:
    db = work / f"{name}.sqlite"
    subprocess.run([VB, "--db", str(db), "positions", "add", "T", "--qty", "1000", "--cash", "10000000", "--anchor", "100",
                    "--at", "2020-06-01"], check=True, capture_output=True, env={**_env(), **env})
    return db


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def at(minutes: int) -> str:
    return f"{START + timedelta(minutes=minutes, seconds=30):%Y-%m-%dT%H:%M:%SZ}"


def run(report: Report, sizes: list[int], work: Path, env: dict[str, str], repeats: int = 3) -> None:
    for n in sizes:
        csv_in, csv_out = work / f"in-{n}.csv", work / f"out-{n}.csv"
        fills_csv(n, csv_in, shuffled=False)
        fills_csv(n, csv_out, shuffled=True)
        db = ledger(work, f"timeline-{n}", env)
        ordered = measure([VB, "--db", str(db), "import", "trades", str(csv_in)], repeats=1, env=env)
        report.note(f"import {n:,} keyed fills in time order", f"{ordered.median:.1f} s")
        dbarg = ["--db", str(db)]
        append = measure([VB, *dbarg, "trades", "add", "T", "buy", "1", "--price", "100", "--commission", "0"],
                         repeats=repeats, env=env)
        near = measure([VB, *dbarg, "trades", "add", "T", "buy", "1", "--price", "100", "--commission", "0", "--at", at(n - 100)],
                       repeats=repeats, env=env)
        report.add(f"back-dated fill, 100 fills after it @ {n:,}", near, append, "append", "≈ 1× at every size")
        middle = measure([VB, *dbarg, "trades", "add", "T", "buy", "1", "--price", "100", "--commission", "0", "--at", at(n // 2)],
                         repeats=repeats, env=env)
        report.add(f"back-dated fill, {n // 2:,} fills after it @ {n:,}", middle, append, "append", "linear in the fills after it")
        check = subprocess.run([VB, *dbarg, "db", "check"], capture_output=True, text=True, env={**_env(), **env})
        report.note(f"db check after the back-dated fills @ {n:,}", check.stdout.strip() or check.stderr.strip())
        other = ledger(work, f"timeline-{n}-shuffled", env)
        shuffled = measure([VB, "--db", str(other), "import", "trades", str(csv_out)], repeats=1, env=env)
        report.add(f"import {n:,} keyed fills out of order", shuffled, ordered, "in order", "≤ 2×")
        for path in (db, other, csv_in, csv_out):
            path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 000 and 10 000 fills only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vb-bench-timeline-"))
    report = Report()
    try:
        run(report, [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000], work,
            {"VB_DATA_DIR": str(work / "data"), "VB_FORMAT": "plain"})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(report.markdown("## Timeline (bench/timeline.py)"))


__all__ = ["Timing", "run"]

if __name__ == "__main__":
    main()
