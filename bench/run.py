"""vb benchmarks: every figure is a ratio against a baseline measured in the same run.

    .venv/bin/python bench/run.py            # all sizes: 10 000, 100 000, 1 000 000 trades
    .venv/bin/python bench/run.py --quick    # 10 000 and 100 000 only, fewer repeats, a 100-trade loop

Prints each line as it is measured; writes bench/out/results.md, and bench/RESULTS.md after a
full run. Needs the sqlite3 command-line tool; hledger is optional (its line is skipped).
A full run takes about 20 minutes on 2 cores, most of it the 1 000-process `trades add` loop.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from build_ledger import build  # noqa: E402
from pg_check import pg_check_bench  # noqa: E402
from serve import serve_bench  # noqa: E402  (skips itself without the serve extra)

BIN = Path(sys.executable).parent
VB = str(BIN / "vb")
PY = sys.executable
OUT = Path(__file__).parent / "out"


def standalone(doc: str, title: str, bench) -> None:  # type: ignore[no-untyped-def]
    """A benchmark script's `__main__`: `--quick`, a private data directory, vb in-process, the table printed.

    `bench(report, folder, env, quick)` adds its measurements to `report`.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    result = Report()
    with tempfile.TemporaryDirectory() as folder:
        environment = {"VB_DATA_DIR": str(Path(folder) / "data"), "VB_FORMAT": "plain", "VB_SERVER": "off"}
        bench(result, Path(folder), environment, options.quick)
    print(result.markdown(title))


def run_vb(db: Path, env: dict[str, str], *args: str) -> None:
    """`vb --db DB ARGS` for building a benchmark's ledger; output is discarded, failure raises."""
    subprocess.run([VB, "--db", str(db), *args], check=True, capture_output=True, env={**os.environ, **env})


@dataclass
class Timing:
    median: float
    peak_kb: int


def measure(argv: list[str], *, repeats: int, env: dict[str, str] | None = None, stdin: str | None = None,
            setup=None, shell: bool = False) -> Timing:  # type: ignore[no-untyped-def]
    """Median wall time of `repeats` runs and the largest peak RSS of any run.

    stderr goes to a file, not a pipe: a command that writes a lot to stderr must not block.
    """
    times, peaks = [], []
    for _ in range(repeats):
        if setup:
            setup()
        full_env = {**os.environ, **(env or {})}
        with tempfile.TemporaryFile("w+") as errors:
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=errors, text=True, shell=shell)
            if stdin:
                proc.stdin.write(stdin)  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
            _, status, usage = os.wait4(proc.pid, 0)
            times.append(time.perf_counter() - started)
            peaks.append(usage.ru_maxrss)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                errors.seek(0)
                raise SystemExit(f"benchmark command failed ({proc.returncode}): {argv}\n{errors.read()[:2000]}")
    return Timing(statistics.median(times), max(peaks))


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, what: str, vb: Timing, base: Timing, base_name: str, target: str, note: str = "") -> None:
        ratio = vb.median / base.median
        self.rows.append((what, f"{vb.median * 1000:.0f} ms", f"{base_name} {base.median * 1000:.0f} ms",
                          f"{ratio:.2f}×", f"{target} {note}".strip()))
        print(f"{what:55s} {ratio:6.2f}×  ({vb.median * 1000:.0f} ms vs {base.median * 1000:.0f} ms; peak {vb.peak_kb / 1024:.0f} MB)", flush=True)

    def note(self, what: str, value: str) -> None:
        self.rows.append((what, value, "", "", ""))
        print(f"{what:55s} {value}", flush=True)

    def markdown(self, header: str) -> str:
        lines = [header, "", "| measurement | vb | baseline | ratio | target |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"


def trades_csv(n: int, path: Path) -> None:
    """n trade rows for `vb import trades` into a ledger built with 0 trades (S00..S39).

    Same shape as the built ledgers: alternating blocks of buys and sells, a sell that would
    exceed the shares held becomes a buy, so every row is a valid fill.
    """
    from build_ledger import START_QTY, trade_rows

    held = [START_QTY] * 40
    start = datetime(2021, 1, 1, tzinfo=timezone.utc)
    with open(path, "w") as out:
        out.write("position,side,qty,price,commission,executed_at\n")
        for i, (p, side, q, price) in enumerate(trade_rows(n, seed=11)):
            if side == "sell" and q > held[p]:
                side = "buy"
            held[p] += q if side == "buy" else -q
            out.write(f"S{p:02d},{side},{q},{price},0,{start + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}\n")


TRADE_COLUMNS = ("id", "order_id", "position_id", "symbol", "side", "qty", "price", "commission", "executed_at",
                 "notional", "realized_pnl", "anchor_before", "status", "key")


def per_row(timing: Timing, n: int) -> str:
    """Time per row after the start-up every command pays (`vb --version` is not that floor: the median is)."""
    return f"{timing.median / n * 1e6:.1f} µs/row all in"


def raw_sqlite_baseline(n: int, db: Path) -> list[str]:
    code = f"""
import sqlite3
conn = sqlite3.connect({str(db)!r})
conn.execute("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, order_id TEXT, position_id TEXT, symbol TEXT, side TEXT, qty TEXT, price TEXT, commission TEXT, executed_at TEXT)")
rows = ((f"trd_{{i:026d}}", f"ord_{{i:026d}}", "pos_1", "S01", "buy", "3", "101.25", "0", "2021-01-01T00:00:00Z") for i in range({n}))
conn.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?)", rows)
conn.commit()
"""
    return [PY, "-c", code]


def versions() -> str:
    from importlib.metadata import version

    def tool(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()[1 if argv[0] == "hledger" else 0].rstrip(",")
        except (OSError, subprocess.CalledProcessError, IndexError):
            return "absent"

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    libs = ", ".join(f"{name} {version(name)}" for name in ("typer", "sqlmodel", "sqlalchemy", "pydantic", "rich"))
    return (f"Python {platform.python_version()}; {libs}; sqlite3 CLI {tool(['sqlite3', '--version'])}, "
            f"library {__import__('sqlite3').sqlite_version}; hledger {tool(['hledger', '--version'])}.\n\n"
            f"Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"load average at start {os.getloadavg()[0]:.1f}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k and 100k trades only, fewer repeats, a 100-trade loop")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    repeats = 3 if args.quick else 5
    loop = 100 if args.quick else 1000
    work = Path(tempfile.mkdtemp(prefix="vb-bench-"))
    env = {"VB_DATA_DIR": str(work / "data"), "VB_FORMAT": "plain"}
    report = Report()
    from vbcli import __version__

    about = versions()
    started = time.perf_counter()
    try:
        run_all(report, sizes, repeats, work, env, loop)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = (f"# vb benchmark results\n\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; vb {__version__}; "
              f"`{' '.join(['.venv/bin/python bench/run.py', *(['--quick'] if args.quick else [])])}`; sizes {sizes}; "
              f"median of {repeats} runs (commands under 100 ms: {repeats * 2}); whole run {time.perf_counter() - started:.0f} s; "
              f"load average at the end {os.getloadavg()[0]:.1f}.\n\n{about}")
    OUT.mkdir(exist_ok=True)
    text = report.markdown(header) + NOTES
    (OUT / "results.md").write_text(text)
    if not args.quick:
        (Path(__file__).parent / "RESULTS.md").write_text(text)
    print(f"\nwritten: {OUT / 'results.md'}" + ("" if args.quick else " and bench/RESULTS.md"))


def run_all(report: Report, sizes: list[int], repeats: int, work: Path, env: dict[str, str], loop: int) -> None:
    typer_base = measure([PY, "-c", "import typer"], repeats=repeats * 2)
    report.add("vb --version", measure([VB, "--version"], repeats=repeats * 2, env=env), typer_base, "import typer", "≤ 1.3×")
    report.add("vb --help", measure([VB, "--help"], repeats=repeats * 2, env=env), typer_base, "import typer", "≤ 2.5×")
    small = work / "completion.sqlite"
    build(small, 0, VB)  # 40 open positions: the candidates come from a real ledger
    completion_env = {**env, "_VB_COMPLETE": "complete_bash", "COMP_WORDS": f"vb --db {small} trades list S0", "COMP_CWORD": "5"}
    report.add("tab completion (vb trades list S0<TAB>)", measure([VB], repeats=repeats * 2, env=completion_env),
               typer_base, "import typer", "≤ 2×")
    sqlmodel_base = measure([PY, "-c", "import sqlmodel"], repeats=repeats * 2)
    for n in sizes:
        db = work / f"ledger-{n}.sqlite"
        started = time.perf_counter()
        build(db, n, VB)
        report.note(f"build ledger of {n:,} trades (raw sqlite3, vb's schema)", f"{time.perf_counter() - started:.1f} s")
        run_size(report, n, db, repeats, work, env, sqlmodel_base)
        db.unlink()
    simulate_bench(report, work, env, sqlmodel_base)
    pg_check_bench(report, work, env)
    from optimize import optimize_bench  # bench/optimize.py: vb optimize and the engine

    optimize_bench(report, work, env)
    from completion import completion_bench  # bench/completion.py: Tab at every argument kind

    completion_bench(report, work, env)
    script_loop_bench(report, work, env, loop)
    from cmdserver import cmdserver_bench  # bench/cmdserver.py: commands through `vb server` (issue 14)

    cmdserver_bench(report, work, env, repeats=repeats * 2, loop=loop)
    serve_bench(report, work, env)
    from timeline import run as timeline_bench  # bench/timeline.py: back-dated fills and shuffled imports (issue 10)

    timeline_bench(report, [1_000, 10_000, 100_000] if 1_000_000 in sizes else [1_000, 10_000], work, env)


def run_size(report: Report, n: int, db: Path, repeats: int, work: Path, env: dict[str, str], base: Timing) -> None:
    dbarg = ["--db", str(db)]
    report.add(f"vb trades list S05 --limit 20 @ {n:,}", measure([VB, *dbarg, "trades", "list", "S05", "--limit", "20"], repeats=repeats, env=env),
               base, "import sqlmodel", "≤ 1.5×, flat")
    report.add(f"vb positions list @ {n:,}", measure([VB, *dbarg, "positions", "list"], repeats=repeats, env=env),
               base, "import sqlmodel", "≤ 1.5×, flat")
    out = work / "export.csv"
    vb_export = measure([VB, *dbarg, "export", "trades", "--format", "csv", "--out", str(out)], repeats=max(1, repeats // 2), env=env)
    sqlite_csv = measure(["sqlite3", "-csv", "-header", str(db), f"SELECT {','.join(TRADE_COLUMNS)} FROM trades ORDER BY executed_at, id"],
                         repeats=max(1, repeats // 2))
    report.add(f"vb export trades --format csv @ {n:,}", vb_export, sqlite_csv, "sqlite3 -csv", "≤ 6×, linear",
               f"(peak {vb_export.peak_kb / 1024:.0f} MB, ≤ 150 MB; {per_row(vb_export, n)})")
    journal = work / "ledger.journal"
    subprocess.run([VB, *dbarg, "export", "trades", "--format", "ledger", "--out", str(journal)], check=True, env={**os.environ, **env})
    if shutil.which("hledger"):
        hledger = measure(["hledger", "-f", str(journal), "bal"], repeats=1 if n >= 1_000_000 else max(1, repeats // 2))
        report.add(f"vb positions list vs hledger bal @ {n:,}", measure([VB, *dbarg, "positions", "list"], repeats=repeats, env=env),
                   hledger, "hledger bal", "≤ 0.2×")
    else:
        report.note(f"vb positions list vs hledger bal @ {n:,}", "skipped: hledger not installed")
    if n <= 100_000:
        import_bench(report, n, work, env, repeats)


def import_bench(report: Report, n: int, work: Path, env: dict[str, str], repeats: int) -> None:
    csv_path = work / f"import-{n}.csv"
    trades_csv(n, csv_path)
    target = work / "import-target.sqlite"
    base_db = work / "raw.sqlite"

    def fresh_target() -> None:
        if target.exists():
            target.unlink()
        build(target, 0, VB)

    def fresh_raw() -> None:
        if base_db.exists():
            base_db.unlink()

    vb_import = measure([VB, "--db", str(target), "import", "trades", str(csv_path)], repeats=max(1, repeats // 2), env=env, setup=fresh_target)
    raw = measure(raw_sqlite_baseline(n, base_db), repeats=max(1, repeats // 2), setup=fresh_raw)
    report.add(f"vb import trades of {n:,} rows", vb_import, raw, "sqlite3 executemany", "≤ 8×, linear",
               f"(peak {vb_import.peak_kb / 1024:.0f} MB; {per_row(vb_import, n)})")


def simulate_bench(report: Report, work: Path, env: dict[str, str], base: Timing) -> None:
    import math

    prices = work / "prices.csv"
    with open(prices, "w") as out:
        out.write("date,price\n")
        day = datetime(1900, 1, 1)
        from datetime import timedelta

        for i in range(50_000):
            price = 100 * math.exp(0.3 * math.sin(i / 50) + 0.0001 * i)
            out.write(f"{(day + timedelta(days=i)).date()},{price:.2f}\n")
    timing = measure([VB, "simulate", str(prices), "--cash", "100000", "--format", "json"], repeats=3, env=env)
    report.add("vb simulate of 50 000 daily bars", timing, base, "import sqlmodel", "≤ 20×",
               f"({50_000 / timing.median:,.0f} bars/s)")


def script_loop_bench(report: Report, work: Path, env: dict[str, str], count: int) -> None:
    db = work / "loop.sqlite"
    build(db, 0, VB)
    rows = [f"S{i % 40:02d} buy 1 --price 100 --commission 0" for i in range(count)]
    script = work / "loop.sh"
    script.write_text("set -e\n" + "".join(f"{VB} --db {db} trades add {row} >/dev/null\n" for row in rows))
    loop = measure(["bash", str(script)], repeats=1, env=env)
    csv_path = work / "loop.csv"
    csv_path.write_text("position,side,qty,price,commission\n" + "".join(f"S{i % 40:02d},buy,1,100,0\n" for i in range(count)))
    db2 = work / "loop2.sqlite"
    build(db2, 0, VB)
    batch = measure([VB, "--db", str(db2), "import", "trades", str(csv_path)], repeats=1, env=env)
    report.add(f"{count:,} × `vb trades add` (shell loop) vs one `vb import` of the same rows", loop, batch, "vb import trades",
               "documented", f"({loop.median / count * 1000:.0f} ms per trade in the loop)")


NOTES = """
Ratios are vb's median over the baseline's median, measured in the same run. Peak memory is the
largest maximum resident set size of the measured process. "µs/row all in" divides the whole
command (start-up included) by the rows: it falls toward the per-row cost as N grows, so equal
or falling figures across sizes mean linear work. The sqlite3 CSV baseline selects the same 14
columns in the same order (ORDER BY executed_at, id) as `vb export trades`. The import baseline
writes one 9-column row per trade into a table with one index; vb writes five rows per fill
(order, trade and three audit events, each event hashed into the chain) into tables with twelve
indexes between them: the "build ledger" lines, raw sqlite3 writing those same rows, are the
floor for vb's schema. bench/ANALYSIS.md has the profiles behind the targets that are not met.
"""


if __name__ == "__main__":
    main()
