"""Shell completion: shipped scripts are fresh; position completion is light and harmless."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import VB_EXE, make_cli_runner

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {"bash": "vb.bash", "zsh": "_vb", "fish": "vb.fish"}


@pytest.mark.parametrize("shell", sorted(SHIPPED))
def test_shipped_scripts_equal_what_vb_prints(shell):
    printed = subprocess.run([VB_EXE, "completion", shell], capture_output=True, check=True).stdout
    assert printed == (ROOT / "completions" / SHIPPED[shell]).read_bytes()
    assert b"_VB_COMPLETE" in printed


def test_unknown_shell_is_a_usage_error():
    done = subprocess.run([VB_EXE, "completion", "tcsh"], capture_output=True, text=True)
    assert done.returncode == 2 and "bash, zsh, fish" in done.stderr


def complete(words: str, cword: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Ask vb for candidates exactly as bash does, reporting which heavy modules got imported."""
    probe = ("import sys\nfrom vbcli.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'alembic', 'psycopg'))\n"
             "print('HEAVY', heavy, file=sys.stderr)\n")
    env = {**os.environ, "_VB_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword),
           "VB_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    env.pop("SQL_URL", None)
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)


def test_completes_positions_without_sqlalchemy(sqlite_url, tmp_path):
    vb = make_cli_runner(sqlite_url)
    for args in (("positions", "add", "AAPL", "--qty", "1", "--cash", "1", "--anchor", "1"),
                 ("positions", "add", "AMZN", "--qty", "0", "--cash", "1"),
                 ("positions", "add", "MSFT", "--qty", "0", "--cash", "1")):
        assert vb(*args).exit_code == 0
    assert vb("positions", "close", "MSFT").exit_code == 0
    done = complete(f"vb --db {sqlite_url} positions show A", 5, tmp_path)
    assert done.stdout.split() == ["AAPL", "AMZN"]
    assert "HEAVY []" in done.stderr
    qualified = complete(f"vb --db {sqlite_url} trades add def", 5, tmp_path)
    assert qualified.stdout.split() == ["default/AAPL", "default/AMZN"]
    ids = complete(f"vb --db {sqlite_url} positions show pos_", 5, tmp_path)
    assert len(ids.stdout.split()) == 2 and all(i.startswith("pos_") for i in ids.stdout.split())


def test_completion_creates_no_ledger(tmp_path):
    missing = tmp_path / "nowhere" / "ledger.sqlite"
    done = complete(f"vb --db {missing} positions show A", 5, tmp_path)
    assert done.stdout.split() == []
    assert "HEAVY []" in done.stderr
    assert not missing.parent.exists()
    default = complete("vb positions show A", 3, tmp_path)  # the default ledger in VB_DATA_DIR
    assert default.stdout.split() == [] and not (tmp_path / "data").exists()


def test_candidates_are_pure_and_never_raise(tmp_path):
    from vbcli.cli.completion_refs import candidates_from, position_candidates

    rows = [("pos_1", "AAPL", "default"), ("pos_2", "AAPL", "other"), ("pos_3", "BRK.B", "other")]
    assert candidates_from(rows, "a") == []  # AAPL alone would be ambiguous: only PORTFOLIO/SYMBOL
    assert candidates_from(rows, "d") == ["default/AAPL"]
    assert candidates_from(rows, "b") == ["BRK.B"]
    assert candidates_from(rows, "other/") == ["other/AAPL", "other/BRK.B"]
    assert candidates_from(rows, "pos_2") == ["pos_2"]
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    assert position_candidates("A", db=str(junk)) == []
    assert position_candidates("A", db="postgresql://nobody@127.0.0.1:1/x") == []


def test_completes_enums_live_ids_and_ambiguous_symbols(sqlite_url, tmp_path):
    vb = make_cli_runner(sqlite_url)
    assert vb("portfolios", "add", "ira").exit_code == 0
    for args in (("positions", "add", "AAPL", "--qty", "10", "--cash", "1000", "--anchor", "100"),
                 ("positions", "add", "AAPL", "--qty", "10", "--cash", "1000", "--anchor", "100", "-p", "ira"),
                 ("positions", "add", "KO", "--qty", "10", "--cash", "1000", "--anchor", "60")):
        assert vb(*args).exit_code == 0
    placed = json.loads(vb("orders", "place", "KO", "buy", "2", "--json").stdout)["id"]
    filled = json.loads(vb("orders", "place", "KO", "buy", "3", "--json").stdout)["id"]
    trade = json.loads(vb("orders", "fill", filled, "--price", "59", "--json").stdout)["id"]
    dividend = json.loads(vb("dividends", "add", "KO", "--per-share", "0.5", "--ex-date", "2099-01-02", "--json").stdout)["id"]

    def words(line: str) -> list[str]:
        return complete(f"vb --db {sqlite_url} {line}", len(line.split()) + 2 + line.endswith(" "), tmp_path).stdout.split()

    # AAPL is in two portfolios: only as PORTFOLIO/SYMBOL; KO is unique: bare.
    assert words("positions show A") == []
    assert words("positions show i") == ["ira/AAPL"]
    assert words("positions show K") == ["KO"]
    assert words("positions list --format j") == ["json"]
    assert words("positions list --status c") == ["closed"]
    assert words("orders list --status p") == ["partially_filled"]
    assert words("dividends list --status ") == ["announced", "receivable", "paid"]
    assert words("orders fill ord_") == [placed]  # open orders only: the filled one is gone
    assert words("orders cancel ord_") == [placed]
    assert words("trades void trd_") == [trade]
    assert words("dividends pay div_") == [dividend]
