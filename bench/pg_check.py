"""PostgreSQL `vb db check` of a large ledger (issue 18: over 300 s after a 60 000-fill import on
a server without autovacuum, because the imported tables had no statistics).

    .venv/bin/python bench/pg_check.py [N]      # default 100 000 fills; VB_TEST_PG picks the server

Builds the ledger the way a user does (`vb import trades`, which analyses the tables after its
commit), then times `vb db check` (median of 3). Run alone it prints one line; bench/run.py
calls `pg_check_bench` when a server answers.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

PG_BASE = os.environ.get("VB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
VB = str(Path(sys.executable).parent / "vb")
SYMBOLS = 40


def _schema() -> tuple[str, str]:
    import psycopg

    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{PG_BASE}{'&' if '?' in PG_BASE else '?'}options=-csearch_path%3D{name}"


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _vb(url: str, *args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([VB, "--db", url, *args], check=True, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure_pg_check(n: int, work: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to import n fills, median seconds of `vb db check`) on a fresh schema."""
    name, url = _schema()
    try:
        for i in range(SYMBOLS):
            _vb(url, "positions", "add", f"S{i:02d}", "--qty", "100000", "--cash", "100000000", "--anchor", "100", env=env)
        fills = work / "pg-fills.csv"
        with open(fills, "w") as out:
            out.write("position,side,qty,price,commission\n")
            for i in range(n):
                out.write(f"S{i % SYMBOLS:02d},{'buy' if (i // SYMBOLS) % 2 == 0 else 'sell'},{1 + i % 4},{90 + i % 20}.25,1\n")
        imported = _vb(url, "import", "trades", str(fills), env=env)
        fills.unlink()
        checks = [_vb(url, "db", "check", env=env) for _ in range(3)]
        return imported, statistics.median(checks)
    finally:
        _drop(name)


def pg_check_bench(report, work: Path, env: dict[str, str], n: int = 100_000) -> None:  # type: ignore[no-untyped-def]
    """Add the PostgreSQL check line to bench/run.py's report (skipped without a server)."""
    try:
        import psycopg

        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: skip, and say why
        report.note(f"PostgreSQL vb db check @ {n:,} fills", f"skipped: no server ({str(exc).splitlines()[0][:60]})")
        return
    imported, checked = measure_pg_check(n, work, env)
    report.note(f"PostgreSQL vb db check @ {n:,} fills (after vb import trades, {imported:.0f} s)", f"{checked:.1f} s (target: seconds)")


if __name__ == "__main__":
    import tempfile

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        took_import, took_check = measure_pg_check(count, Path(folder), {"VB_DATA_DIR": str(Path(folder) / "data")})
    print(f"PostgreSQL: vb import trades of {count:,} fills {took_import:.1f} s; vb db check {took_check:.1f} s (median of 3)")
