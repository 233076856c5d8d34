"""Terminal screens: golden text of every listing and `show` at 80 and 120 columns (SPEC §8.0).

Each screen is the real `vb` process writing to a pseudo-terminal of that size, read back
through a terminal emulator (pyte). The ledger is tests/fixtures/screens.json (fixed ids and
times; rebuild it with tests/fixtures/make_screens.py). The golden files in tests/golden/ are
regenerated only on purpose: `VB_REGEN_GOLDEN=1 pytest tests/test_screens.py`, then read the
diff before committing it.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
VB = str(Path(sys.executable).with_name("vb"))
REGEN = os.environ.get("VB_REGEN_GOLDEN") == "1"
ESCAPE = re.compile(rb"\x1b")

SCREENS = {
    "positions-list": ["positions", "list", "--status", "all"],
    "positions-show": ["positions", "show", "default/KO", "--price", "63"],
    "orders-list": ["orders", "list"],
    "orders-show": ["orders", "show", "ord_01jxq0fcz"],
    "trades-list": ["trades", "list"],
    "trades-show": ["trades", "show", "trd_01jxq0pcc"],
    "dividends-list": ["dividends", "list"],
    "portfolios-list": ["portfolios", "list"],
    "portfolios-show": ["portfolios", "show", "retirement"],
    "events-list": ["events", "list", "--limit", "12"],
    "evaluate-all": ["evaluate", "--all", "--prices", "{prices}"],
    "evaluate-one": ["evaluate", "default/AAPL", "--price", "139"],
}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("screens")
    db = str(folder / "screens.db")
    subprocess.run([VB, "--db", db, "import", "all", str(HERE / "fixtures" / "screens.json")], check=True, capture_output=True)
    prices = folder / "prices.csv"
    prices.write_text("symbol,price\nAAPL,139\nKO,66.2\n", encoding="utf-8")
    return {"db": db, "prices": str(prices), "home": str(folder)}


def run_in_terminal(ledger: dict[str, str], args: list[str], columns: int, env: dict[str, str] | None = None) -> bytes:
    """What `vb ARGS` writes to a terminal `columns` wide (stdout and stderr, as a person sees them)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "VB_FORMAT", "NO_COLOR")}
    environ.update(HOME=ledger["home"], TERM="xterm-256color", **(env or {}))
    argv = [VB, "--db", ledger["db"], *(a.format(**ledger) for a in args)]
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=environ, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks)


def screen_text(raw: bytes, columns: int) -> str:
    """The screen a terminal emulator shows for `raw`, trailing blanks removed."""
    import pyte

    screen = pyte.Screen(columns, 60)
    stream = pyte.ByteStream(screen)
    stream.feed(raw)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("name", sorted(SCREENS))
def test_golden_screen(ledger: dict[str, str], name: str, columns: int) -> None:
    raw = run_in_terminal(ledger, SCREENS[name], columns)
    text = screen_text(raw, columns)
    golden = GOLDEN / f"{name}-{columns}.txt"
    if REGEN:
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no {golden.name}: run with VB_REGEN_GOLDEN=1 and read the result"
    assert text == golden.read_text(encoding="utf-8")
    # Nothing wrapped: every line the program wrote fits the terminal, so no cell was broken.
    written = ESCAPE.sub(b"", re.sub(rb"\x1b\[[0-9;]*m", b"", raw)).decode().split("\r\n")
    assert max(len(line) for line in written) <= columns


LISTINGS = {"orders": "ord_", "trades": "trd_", "positions": "pos_", "dividends": "div_"}


@pytest.mark.parametrize("noun", sorted(LISTINGS))
def test_every_shown_id_prefix_is_whole_and_finds_its_row(ledger: dict[str, str], noun: str) -> None:
    args = [noun, "list"] + (["--status", "all"] if noun == "positions" else [])
    text = screen_text(run_in_terminal(ledger, args, 80), 80)
    prefixes = re.findall(rf"(?<![\w/]){LISTINGS[noun]}[0-9a-z]+", text)
    assert prefixes, text
    full = subprocess.run([VB, "--db", ledger["db"], noun, "list", *args[2:], "--format", "csv"],
                          capture_output=True, text=True, check=True).stdout
    ids = [line.split(",")[0] for line in full.splitlines()[1:]]
    assert len(prefixes) == len(ids)
    for prefix, ident in zip(prefixes, ids):  # same order; each prefix is ≥ 8 characters and unique
        assert len(prefix) >= 8 and ident.startswith(prefix)
        assert sum(other.startswith(prefix) for other in ids) == 1


def test_a_table_on_a_terminal_has_bold_headers_and_no_color_removes_every_escape(ledger: dict[str, str]) -> None:
    assert ESCAPE.search(run_in_terminal(ledger, ["positions", "list"], 80))
    assert not ESCAPE.search(run_in_terminal(ledger, ["positions", "list"], 80, {"NO_COLOR": "1"}))
    assert not ESCAPE.search(run_in_terminal(ledger, ["positions", "show", "default/KO"], 80, {"NO_COLOR": "1"}))


@pytest.mark.parametrize("args", [["positions", "list"], ["orders", "list"], ["positions", "show", "default/KO"]])
def test_piped_output_has_no_escape_sequences(ledger: dict[str, str], args: list[str]) -> None:
    for fmt in (None, "table"):
        env = {k: v for k, v in os.environ.items() if k not in ("VB_FORMAT", "NO_COLOR")}
        if fmt:
            env["VB_FORMAT"] = fmt
        done = subprocess.run([VB, "--db", ledger["db"], *args], capture_output=True, env=env, check=True)
        assert not ESCAPE.search(done.stdout) and not ESCAPE.search(done.stderr)


def test_the_plot_on_a_terminal_honours_no_color_and_fits_80_columns(ledger: dict[str, str], tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text("date,close\n2026-01-02,100\n2026-01-05,95\n2026-01-06,90\n2026-01-07,99\n2026-01-08,104\n", encoding="utf-8")
    args = ["simulate", str(bars), "--cash", "10000", "--format", "table", "--plot"]
    plain = run_in_terminal(ledger, args, 80, {"NO_COLOR": "1"})
    assert not ESCAPE.search(plain)
    text = screen_text(plain, 80)
    assert "strategy" in text and "buy and hold" in text and "▲" in text  # legend and trade markers
    assert max(len(line) for line in plain.decode().split("\r\n")) <= 80
    piped = subprocess.run([VB, *args], capture_output=True, check=True,
                           env={k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")})
    assert not ESCAPE.search(piped.stdout) and max(len(line) for line in piped.stdout.decode().splitlines()) <= 80
