"""Tab completion at every argument kind (issue 11): positions, enums and live ids, one real process each.

    .venv/bin/python bench/completion.py      # alone; bench/run.py calls completion_bench()

Target: each Tab under 60 ms on an idle machine (stdlib sqlite3 reads, no SQLAlchemy). The
baseline is `python -c "import typer"`, which every Tab pays.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import PY, VB, Report, measure  # noqa: E402

LINES = {
    "position (positions show A)": "positions show A",
    "--format value": "positions list --format j",
    "--status value": "orders list --status p",
    "open order id (orders fill)": "orders fill ord_",
    "recent trade id (trades void)": "trades void trd_",
    "announced dividend id (dividends pay)": "dividends pay div_",
}


def _ledger(db: Path) -> None:
    def vb(*args: str) -> str:
        return subprocess.run([VB, "--db", str(db), *args], capture_output=True, text=True, check=True).stdout

    for n in range(20):
        vb("positions", "add", f"S{n:02d}", "--qty", "100", "--cash", "10000", "--anchor", "100")
        vb("orders", "place", f"S{n:02d}", "buy", "1")
        vb("trades", "add", f"S{n:02d}", "sell", "1", "--price", "101")
        vb("dividends", "add", f"S{n:02d}", "--per-share", "0.1", "--ex-date", "2099-01-02")


def completion_bench(report: Report, work: Path, env: dict[str, str], repeats: int = 5) -> None:
    db = work / "completion-kinds.sqlite"
    _ledger(db)
    base = measure([PY, "-c", "import typer"], repeats=repeats)
    for what, line in LINES.items():
        words = f"vb --db {db} {line}"
        tab = {**env, "_VB_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
        report.add(f"tab: {what}", measure([VB], repeats=repeats, env=tab), base, "import typer", "< 60 ms")


if __name__ == "__main__":
    result = Report()
    with tempfile.TemporaryDirectory() as folder:
        completion_bench(result, Path(folder), {})
    print(result.markdown("Tab completion"))
