"""Bulk paths against the floor of vb's own schema (issue 14), ratios measured in the same run.

    .venv/bin/python bench/bulk.py            # 100 000 keyed fills over 40 positions
    .venv/bin/python bench/bulk.py --quick    # 10 000

- `vb import trades` of N keyed fills into a ledger with the positions already opened, against
  raw sqlite3 writing vb's own rows for those fills (their orders, trades, audit events and
  idempotency keys, taken from vb's result) with executemany into a copy of the same empty
  ledger, every index in place, one transaction (target ≤ 3×);
- `vb export trades --format csv` of those N trades against the sqlite3 shell's CSV of the same
  columns in the same order (target ≤ 6×, peak memory under 150 MB).
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import TRADE_COLUMNS, VB, Report, Timing, measure, run_vb, standalone  # noqa: E402

POSITIONS = 40
START = datetime(2021, 1, 1, tzinfo=timezone.utc)
NEW_ROWS = (("orders", ""), ("trades", ""), ("idempotency_keys", ""), ("events", "WHERE seq > ?"))


def opened_ledger(db: Path, env: dict[str, str]) -> None:
    """A ledger with POSITIONS open positions and nothing else, made by vb."""
    for s in range(POSITIONS):
        run_vb(db, env, "positions", "add", f"S{s:02d}", "--qty", "1000", "--cash", "10000000", "--anchor", "100", "--at", "2020-01-01")


def fills_csv(path: Path, n: int) -> None:
    """n keyed fills, a second apart: alternating blocks of buys and sells that never oversell."""
    with open(path, "w") as out:
        out.write("position,side,qty,price,commission,executed_at,key\n")
        for i in range(n):
            side = "buy" if (i // POSITIONS) % 2 == 0 else "sell"
            price = f"{90 + (i * 37) % 2000 / 100:.2f}"
            out.write(f"S{i % POSITIONS:02d},{side},{1 + i % 4},{price},0.5,{START + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ},k{i:07d}\n")


def copy_ledger(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def vb_rows(empty: Path, imported: Path) -> list[tuple[str, list[tuple]]]:
    """The rows vb's import added, table by table, as stored."""
    with sqlite3.connect(empty) as conn:
        events_before = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn = sqlite3.connect(imported)
    rows = [(table, conn.execute(f"SELECT * FROM {table} {where} ORDER BY rowid", (events_before,) if where else ()).fetchall())
            for table, where in NEW_ROWS]
    conn.close()
    return rows


def raw_insert(empty: Path, target: Path, rows: list[tuple[str, list[tuple]]], repeats: int) -> Timing:
    """sqlite3 executemany of `rows` into a copy of the empty ledger, one transaction; the median."""
    times = []
    for _ in range(repeats):
        copy_ledger(empty, target)
        started = time.perf_counter()
        conn = sqlite3.connect(target)
        for table, table_rows in rows:
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(table_rows[0]))})", table_rows)
        conn.commit()
        conn.close()
        times.append(time.perf_counter() - started)
    return Timing(statistics.median(times), 0)


def bulk_bench(report: Report, work: Path, env: dict[str, str], n: int, repeats: int) -> None:
    empty, target, fills = work / "empty.sqlite", work / "import.sqlite", work / "fills.csv"
    opened_ledger(empty, env)
    fills_csv(fills, n)
    vb_import = measure([VB, "--db", str(target), "import", "trades", str(fills)], repeats=repeats, env=env,
                        setup=lambda: copy_ledger(empty, target))
    # The export is measured before vb's rows are loaded here: a child's peak memory counts the
    # parent's pages it shares until exec.
    out = work / "export.csv"
    vb_export = measure([VB, "--db", str(target), "export", "trades", "--format", "csv", "--out", str(out)], repeats=repeats, env=env)
    sqlite_csv = measure(["sqlite3", "-csv", "-header", str(target), f"SELECT {','.join(TRADE_COLUMNS)} FROM trades ORDER BY executed_at, id"],
                         repeats=repeats)
    rows = vb_rows(empty, target)
    report.note(f"rows vb writes for {n:,} fills", ", ".join(f"{table} {len(found):,}" for table, found in rows))
    raw = raw_insert(empty, work / "raw.sqlite", rows, repeats)
    del rows
    report.add(f"vb import trades of {n:,} keyed fills", vb_import, raw, "sqlite3 executemany of vb's rows", "≤ 3×",
               f"(peak {vb_import.peak_kb / 1024:.0f} MB; {n / vb_import.median:,.0f} fills/s)")
    report.add(f"vb export trades --format csv @ {n:,}", vb_export, sqlite_csv, "sqlite3 -csv", "≤ 6×, ≤ 150 MB",
               f"(peak {vb_export.peak_kb / 1024:.0f} MB)")


if __name__ == "__main__":
    standalone(__doc__, "Bulk import and export",
               lambda report, folder, env, quick: bulk_bench(report, folder, env, 10_000 if quick else 100_000, 3))
