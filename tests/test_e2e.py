"""The installed `vb` as a real process with a private HOME: persistence, start-up, concurrency.

Every test runs twice: each `vb` on its own (VB_SERVER=off), and through a command server
(vbcli/cmdserver), which must give the same outputs, exit codes and ledger.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D
from pathlib import Path

import pytest

from conftest import CLEAN_ENV, VB_EXE, make_process_runner

WORKERS = 16  # client processes at once: through a server, 16 workers share one ledger
# Fills per worker: 48 processes through the server, enough to interleave; 16 in-process, where
# tests/test_hardening_concurrency.py already runs 12–16 writers (each costs ~0.6 s of start-up).
TRADES_EACH = {"server": 3, "alone": 1}


@pytest.fixture(params=["alone", "server"])
def via(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment of every `vb` of a test: in-process, or through a private command server."""
    if request.param == "alone":
        yield {"VB_SERVER": "off"}
        return
    directory = Path(tempfile.mkdtemp(prefix="vbs-"))  # short: a socket path has at most 107 bytes
    env = {"VB_SERVER_SOCKET": str(directory / "s.sock"), "VB_SERVER_IDLE": "300"}
    base = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    control = {**base, **env, "HOME": str(directory)}
    try:
        started = subprocess.run([VB_EXE, "server", "start"], env=control, capture_output=True, text=True, timeout=60)
        assert started.returncode == 0, started.stderr
        yield env
        status = json.loads(subprocess.run([VB_EXE, "server", "status", "--json"], env=control, capture_output=True,
                                           text=True, timeout=60).stdout)
        assert status["running"] and status["served"] > 0, status  # the commands did go through it
    finally:
        subprocess.run([VB_EXE, "server", "stop"], env=control, capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


def test_data_persists_across_processes_in_the_default_ledger(tmp_path, via):
    vb = make_process_runner(None, tmp_path, via)  # no --db: the default file in VB_DATA_DIR
    added = vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150")
    assert added.exit_code == 0, added.stderr
    ledger = tmp_path / "data" / "vb.sqlite"
    assert ledger.is_file()
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    assert stat.S_IMODE(ledger.parent.stat().st_mode) == 0o700
    assert vb("db", "path").stdout.strip() == str(ledger)

    assert vb("trades", "add", "AAPL", "sell", "10", "--price", "160", "--commission", "1").exit_code == 0
    # A third process sees both: 90 shares; cash 10 000 + 1 600 − 1 = 11 599.00 (cash moves in cents, SPEC §3 rev 2).
    shown = json.loads(vb("positions", "show", "AAPL", "--json").stdout)
    assert (shown["qty"], shown["cash"], shown["anchor"]) == ("90", "11599.00", "160")
    assert len(json.loads(vb("events", "list", "--json").stdout)) == 4  # created, placed, filled, anchor
    info = json.loads(vb("db", "info", "--json").stdout)
    assert (info["source"], info["engine"], info["trades"]) == ("default", "sqlite", 1)


def test_version_and_help_work(tmp_path, via):
    vb = make_process_runner(None, tmp_path, via)
    version = vb("--version")
    assert version.exit_code == 0 and version.stdout.startswith("vb ") and version.stderr == ""
    helped = vb("--help")
    assert helped.exit_code == 0 and "Example: vb" in helped.stdout
    for noun in ("portfolios", "positions", "orders", "trades", "events", "db"):
        assert noun in helped.stdout
    assert not (tmp_path / "data").exists()  # neither opens the ledger


def test_tracebacks_only_with_vb_debug(tmp_path, via):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a ledger\n")
    vb = make_process_runner(str(notes), tmp_path, via)
    quiet = vb("portfolios", "list")
    assert quiet.exit_code == 6 and "Traceback" not in quiet.stderr
    assert quiet.stderr.count("\n") == 1
    loud = vb("portfolios", "list", env={"VB_DEBUG": "1"})
    assert loud.exit_code == 6 and "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1].startswith("vb: ")


def test_concurrent_writers_lose_nothing(db_url, tmp_path, via):
    vb = make_process_runner(db_url, tmp_path, via)
    opened = vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "1000", "--cash", "100000", "--anchor", "10", "--json")
    assert opened.exit_code == 0, opened.stderr

    failures: list[str] = []
    each = TRADES_EACH["alone" if via.get("VB_SERVER") == "off" else "server"]

    def worker(index: int) -> list[int]:
        codes = []
        for step in range(each):
            side = "buy" if step % 2 == 0 else "sell"
            result = vb("trades", "add", "AAPL", side, "1", "--price", "10", "--commission", "0.01",
                        "--key", f"w{index}-{step}")
            codes.append(result.exit_code)
            if result.exit_code:
                failures.append(result.stderr)
        return codes

    with ThreadPoolExecutor(WORKERS) as pool:
        codes = [code for codes in pool.map(worker, range(WORKERS)) for code in codes]
    assert codes == [0] * (WORKERS * each), failures[:3]

    # Each worker: buy (, sell, buy) of 1 share at 10 → +1 share, cash −10; a commission of 0.01
    # per fill. 16 workers: qty 1 000 + 16 = 1 016; cash 100 000 − 160 − 16·each·0.01, which is
    # 99 839.52 for 3 fills each (commission 0.48) and 99 839.84 for 1 (commission 0.16).
    cash, commission = {3: ("99839.52", "0.48"), 1: ("99839.84", "0.16")}[each]
    shown = json.loads(vb("positions", "show", "AAPL", "--json").stdout)
    assert D(shown["qty"]) == D("1016")
    assert D(shown["cash"]) == D(cash)
    assert D(shown["total_commission"]) == D(commission)
    trades = json.loads(vb("trades", "list", "--json").stdout)
    assert len(trades) == WORKERS * each
    assert len({t["key"] for t in trades}) == WORKERS * each
    filled = json.loads(vb("events", "list", "--type", "order_filled", "--json").stdout)
    assert len(filled) == WORKERS * each


def test_one_key_retried_concurrently_makes_one_trade(db_url, tmp_path, via):
    vb = make_process_runner(db_url, tmp_path, via)
    assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--cash", "1000").exit_code == 0

    def attempt(_: int):  # type: ignore[no-untyped-def]
        return vb("trades", "add", "AAPL", "buy", "1", "--price", "10", "--key", "broker-fill-1", "--json")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert [r.exit_code for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    assert len({r.stdout for r in results}) == 1  # every retry printed the first result
    trades = json.loads(vb("trades", "list", "--json").stdout)
    assert len(trades) == 1 and trades[0]["id"] == json.loads(results[0].stdout)["id"]
    assert json.loads(vb("positions", "show", "AAPL", "--json").stdout)["qty"] == "1"

