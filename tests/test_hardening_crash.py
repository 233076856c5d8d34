"""Crashes and interrupts inside a write: nothing half-done, and a retry with the key is exact.

`VB_FAULT=NAME` makes `vb` SIGKILL itself at a named point (vbcli/faults.py);
`VB_FAULT=sleep:NAME` makes it pause there so the test can send SIGINT or SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import CLEAN_ENV, VB_EXE, make_cli_runner

BUY = ("trades", "add", "AAPL", "buy", "2", "--price", "150", "--commission", "1", "--key", "fill-1")


def vb_env(extra: dict[str, str], home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update({"HOME": str(home), "VB_DATA_DIR": str(home / "data"), **extra})
    return env


def run_raw(db_url: str, home: Path, args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VB_EXE, "--db", db_url, *args], capture_output=True, text=True,
                          env=vb_env(env, home), timeout=120)


def state(run) -> tuple[str, str, int, int]:  # type: ignore[no-untyped-def]
    """(qty, cash, trades, order_filled events) of AAPL, after `vb db check` passes."""
    checked = run("db", "check", "--json")
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    shown = json.loads(run("positions", "show", "AAPL", "--json").stdout)
    trades = json.loads(run("trades", "list", "--format", "json").stdout)
    fills = json.loads(run("events", "list", "--type", "order_filled", "--format", "json").stdout)
    return shown["qty"], shown["cash"], len(trades), len(fills)


# Hand calculation: 100 shares, cash 10000; buy 2 at 150 with commission 1 → qty 102, cash 9699.00 (cents, SPEC §3).
BEFORE = ("100", "10000", 0, 0)
AFTER = ("102", "9699.00", 1, 1)


@pytest.mark.parametrize(
    ("point", "committed"),
    [("after_trade_row", False), ("after_position_update", False), ("before_commit", False), ("after_commit", True)],
)
def test_sigkill_inside_a_write_then_retry_with_key(db_url: str, tmp_path: Path, point: str, committed: bool) -> None:
    run = make_cli_runner(db_url)  # in-process for setup and checks; the crash is a real process
    assert run("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0

    crashed = run_raw(db_url, tmp_path, BUY, {"VB_FAULT": point})
    assert crashed.returncode == -signal.SIGKILL
    assert crashed.stdout == ""  # after_commit: killed before any output
    assert state(run) == (AFTER if committed else BEFORE)

    retried = run(*BUY)
    assert retried.exit_code == 0, retried.stderr
    assert json.loads(run("trades", "list", "--format", "json").stdout)[0]["key"] == "fill-1"
    assert state(run) == AFTER
    again = run(*BUY)  # a second retry is a replay too
    assert again.exit_code == 0, again.stderr
    assert state(run) == AFTER


def test_sigkill_mid_migration_of_a_fresh_ledger(db_url: str, tmp_path: Path) -> None:
    run = make_cli_runner(db_url)  # in-process for setup and checks; the crash is a real process
    add = ("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150", "--key", "open-aapl")
    crashed = run_raw(db_url, tmp_path, add, {"VB_FAULT": "mid_migration"})
    assert crashed.returncode == -signal.SIGKILL
    if "://" not in db_url:
        assert Path(db_url).exists()  # a SQLite file with no schema yet: the next run creates it
    for _ in range(2):
        done = run(*add)
        assert done.exit_code == 0, done.stderr
    assert state(run) == BEFORE
    listed = json.loads(run("positions", "list", "--format", "json").stdout)
    assert [p["symbol"] for p in listed] == ["AAPL"]


def test_sigkill_mid_export_leaves_the_old_file(tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger.sqlite")
    run = make_cli_runner(ledger)
    assert run("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    assert run(*BUY).exit_code == 0
    target = tmp_path / "out" / "trades.csv"
    target.parent.mkdir()
    target.write_text("previous export\n")
    args = ("export", "trades", "--format", "csv", "--out", str(target))
    crashed = run_raw(ledger, tmp_path, args, {"VB_FAULT": "mid_export"})
    assert crashed.returncode == -signal.SIGKILL
    assert target.read_text() == "previous export\n"  # the export is written aside and renamed
    assert state(run) == AFTER
    done = run(*args)
    assert done.exit_code == 0, done.stderr
    assert target.read_text().startswith("id,order_id,position_id,symbol,side,qty,price,commission,executed_at")


@pytest.mark.parametrize(
    ("signum", "code", "point", "word"),
    [(signal.SIGINT, 130, "before_commit", "Interrupted"), (signal.SIGTERM, 143, "after_trade_row", "Terminated"),
     (signal.SIGTERM, 143, "before_commit", "Terminated")],
)
def test_signal_mid_transaction_rolls_back(db_url: str, tmp_path: Path, signum: int, code: int, point: str, word: str) -> None:
    run = make_cli_runner(db_url)  # in-process for setup and checks; the crash is a real process
    assert run("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    proc = subprocess.Popen([VB_EXE, "--db", db_url, *BUY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=vb_env({"VB_FAULT": f"sleep:{point}", "VB_FAULT_SECONDS": "120"}, tmp_path))
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline() == f"vb: fault: sleeping at {point}\n"  # inside the open transaction
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code
    assert stdout == ""
    assert stderr == f"vb: {word}; nothing was written.\n"
    assert state(run) == BEFORE
    retried = run(*BUY)
    assert retried.exit_code == 0, retried.stderr
    assert state(run) == AFTER


def test_interrupt_after_commit_says_the_change_was_saved(tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger.sqlite")
    run = make_cli_runner(ledger)
    assert run("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    proc = subprocess.Popen([VB_EXE, "--db", ledger, *BUY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=vb_env({"VB_FAULT": "sleep:after_commit", "VB_FAULT_SECONDS": "120"}, tmp_path))
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline() == "vb: fault: sleeping at after_commit\n"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert stderr == ("vb: Interrupted after the change was saved; "
                      "run the same command with the same --key to see its result.\n")
    assert state(run) == AFTER
    replay = run(*BUY, "--json")
    assert replay.exit_code == 0, replay.stderr
    assert json.loads(replay.stdout)["qty"] == "2"
    assert state(run) == AFTER
