"""The command server (issue 14): commands through `vb server` against `python -c pass`, the
same commands in-process against `import sqlmodel`, and a fill-per-process shell loop against
the sqlite3 shell inserting one row per process.

    .venv/bin/python bench/cmdserver.py [--loop N]     # alone; bench/run.py also runs it
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import PY, VB, Report, measure  # noqa: E402


def cmdserver_bench(report: Report, work: Path, env: dict[str, str], repeats: int = 7, loop: int = 200) -> None:
    sock_dir = Path(tempfile.mkdtemp(prefix="vbs-"))
    served = {**env, "VB_SERVER_SOCKET": str(sock_dir / "s.sock"), "VB_SERVER_IDLE": "600"}
    local = {**served, "VB_SERVER": "off"}
    db = work / "cmdserver.sqlite"
    dbarg = ["--db", str(db)]
    subprocess.run([VB, *dbarg, "positions", "add", "AAPL", "--qty", "100", "--cash", "1000000", "--anchor", "100"],
                   env=local, check=True, capture_output=True)
    subprocess.run([VB, "server", "start"], env=served, check=True, capture_output=True)
    try:
        pass_base = measure([PY, "-c", "pass"], repeats=repeats)
        sqlmodel_base = measure([PY, "-c", "import sqlmodel"], repeats=repeats)
        commands = {"positions list": ["positions", "list"], "trades list AAPL --limit 20": ["trades", "list", "AAPL", "--limit", "20"],
                    "trades add": ["trades", "add", "AAPL", "buy", "1", "--price", "100", "--commission", "0"]}
        for name, args in commands.items():
            report.add(f"server: vb {name}", measure([VB, *dbarg, *args], repeats=repeats, env=served), pass_base, "python -c pass", "≤ 4×")
            report.add(f"in-process: vb {name}", measure([VB, *dbarg, *args], repeats=repeats, env=local), sqlmodel_base,
                       "import sqlmodel", "≤ 1.3×")
        words = f"vb --db {db} positions show A"
        tab = {**served, "_VB_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "4"}
        report.add("server: Tab (positions show A<TAB>)", measure([VB], repeats=repeats, env=tab), pass_base, "python -c pass", "≤ 2.5×")
        _loop_bench(report, work, served, db, loop)
    finally:
        subprocess.run([VB, "server", "stop"], env=served, capture_output=True)
        shutil.rmtree(sock_dir, ignore_errors=True)


def _loop_bench(report: Report, work: Path, served: dict[str, str], db: Path, loop: int) -> None:
    """`loop` fills, one vb process each through the server, against one sqlite3 process per row."""
    sqlite3 = shutil.which("sqlite3")
    if sqlite3 is None:
        report.note("fill-per-process loop", "skipped: no sqlite3 shell")
        return
    raw = work / "raw.sqlite"
    subprocess.run([sqlite3, str(raw), "CREATE TABLE t (id INTEGER PRIMARY KEY, side TEXT, qty TEXT, price TEXT)"], check=True)
    started = time.perf_counter()
    for n in range(loop):
        subprocess.run([sqlite3, str(raw), f"INSERT INTO t (side, qty, price) VALUES ('buy', '1', '{100 + n % 7}')"], check=True)
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(loop):
        subprocess.run([VB, "--db", str(db), "trades", "add", "AAPL", "buy", "1", "--price", str(100 + n % 7), "--commission", "0",
                        "--key", f"loop-{n}"], env={**os.environ, **served}, check=True, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - started
    report.note(f"{loop} `vb trades add` processes through the server", f"{took:.1f} s = {took / baseline:.1f}× {loop} sqlite3 "
                f"processes ({baseline:.1f} s); target ≤ 10×; {took / loop * 1000:.0f} ms a fill")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop", type=int, default=200)
    options = parser.parse_args()
    result = Report()
    with tempfile.TemporaryDirectory() as folder:
        cmdserver_bench(result, Path(folder), {"VB_DATA_DIR": str(Path(folder) / "data"), "VB_FORMAT": "plain"}, loop=options.loop)
    print(result.markdown("Command server"))
