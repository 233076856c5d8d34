"""Many `vb` processes writing at once, and a lock held by another program (SPEC §1, §6).

Real `vb trades add` processes against a real SQLite file and the real PostgreSQL server.
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import Result, make_cli_runner, make_process_runner


def open_two_positions(cli) -> None:  # type: ignore[no-untyped-def]
    for symbol, anchor in (("AAPL", "100"), ("MSFT", "200")):
        done = cli("positions", "add", symbol, "--qty", "100", "--cash", "100000", "--anchor", anchor)
        assert done.exit_code == 0, done.stderr


def worker_commands(worker: int) -> list[tuple[str, ...]]:
    """Even workers trade AAPL, odd ones MSFT: one buy and one sell each, every one with a key."""
    if worker % 2 == 0:
        legs = (("buy", "3", "100"), ("sell", "2", "101"))
        commission = "1"
        symbol = "AAPL"
    else:
        legs = (("buy", "5", "200.5"), ("sell", "1", "199.25"))
        commission = "0.5"
        symbol = "MSFT"
    return [
        ("trades", "add", symbol, side, qty, "--price", price, "--commission", commission, "--key", f"w{worker}-{n}")
        for n, (side, qty, price) in enumerate(legs)
    ]


def hammer(run, workers: int) -> list[Result]:  # type: ignore[no-untyped-def]
    def one_worker(worker: int) -> list[Result]:
        return [run(*command) for command in worker_commands(worker)]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [result for batch in pool.map(one_worker, range(workers)) for result in batch]


def position(cli, symbol: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    shown = cli("positions", "show", symbol, "--json")
    assert shown.exit_code == 0, shown.stderr
    return json.loads(shown.stdout)


def assert_all_succeeded(results: list[Result]) -> None:
    for result in results:
        assert result.exit_code == 0, result.stderr
        assert "locked" not in result.stderr.lower()
        assert "Traceback" not in result.stderr


def count_fills(cli) -> int:  # type: ignore[no-untyped-def]
    listed = cli("events", "list", "--type", "order_filled", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    return len(json.loads(listed.stdout))


def test_sixteen_sqlite_writers_lose_nothing(tmp_path: Path) -> None:
    run = make_process_runner(str(tmp_path / "ledger.sqlite"), tmp_path)
    cli = make_cli_runner(str(tmp_path / "ledger.sqlite"))  # setup and reads in-process; the writers are processes
    open_two_positions(cli)
    assert_all_succeeded(hammer(run, 16))
    # 8 AAPL workers, each: buy 3 @ 100 (+1 commission), sell 2 @ 101 (-1 commission).
    #   qty  = 100 + 8·(3 − 2) = 108
    #   cash = 100000 + 8·(−300 − 1 + 202 − 1) = 100000 − 800 = 99200
    # 8 MSFT workers, each: buy 5 @ 200.5 (+0.5), sell 1 @ 199.25 (−0.5).
    #   qty  = 100 + 8·(5 − 1) = 132
    #   cash = 100000 + 8·(−1002.5 − 0.5 + 199.25 − 0.5) = 100000 − 8·804.25 = 93566
    aapl, msft = position(cli, "AAPL"), position(cli, "MSFT")
    assert (Decimal(aapl["qty"]), Decimal(aapl["cash"])) == (Decimal("108"), Decimal("99200"))
    assert (Decimal(msft["qty"]), Decimal(msft["cash"])) == (Decimal("132"), Decimal("93566"))
    assert Decimal(aapl["total_commission"]) == Decimal("16")  # 16 fills × 1
    assert Decimal(msft["total_commission"]) == Decimal("8")  # 16 fills × 0.5
    assert count_fills(cli) == 32
    # Replaying commands (four workers' worth, in parallel) changes nothing: each key holds its result.
    assert_all_succeeded(hammer(run, 4))
    assert count_fills(cli) == 32
    assert position(cli, "AAPL")["qty"] == aapl["qty"]


def test_twelve_postgresql_writers_lose_nothing(pg_url: str, tmp_path: Path) -> None:
    run = make_process_runner(pg_url, tmp_path)
    cli = make_cli_runner(pg_url)  # setup and reads in-process; the writers are processes
    open_two_positions(cli)
    assert_all_succeeded(hammer(run, 12))
    # 6 AAPL workers: qty = 100 + 6·1 = 106; cash = 100000 − 6·100 = 99400.
    # 6 MSFT workers: qty = 100 + 6·4 = 124; cash = 100000 − 6·804.25 = 95174.5.
    aapl, msft = position(cli, "AAPL"), position(cli, "MSFT")
    assert (Decimal(aapl["qty"]), Decimal(aapl["cash"])) == (Decimal("106"), Decimal("99400"))
    assert (Decimal(msft["qty"]), Decimal(msft["cash"])) == (Decimal("124"), Decimal("95174.5"))
    assert count_fills(cli) == 24


# ---- a lock held by another program ----------------------------------------------------------

BUSY_SENTENCE = "stayed locked by another program for 1s; try again later."


def test_sqlite_lock_held_too_long_exits_6_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    run = make_process_runner(str(path), tmp_path)
    cli = make_cli_runner(str(path))  # setup and reads in-process; the writers are processes
    open_two_positions(cli)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        blocked = run("trades", "add", "AAPL", "buy", "1", "--price", "100", env={"VB_BUSY_TIMEOUT": "1"})
        # WAL: readers are not blocked by the other program's write lock.
        readable = cli("positions", "show", "AAPL", "--json")
    finally:
        other.rollback()
        other.close()
    assert blocked.exit_code == 6, blocked.stderr
    assert blocked.stderr == f"vb: The ledger {path} {BUSY_SENTENCE}\n"
    assert blocked.stdout == ""
    assert readable.exit_code == 0, readable.stderr
    assert position(cli, "AAPL")["qty"] == "100"
    assert count_fills(cli) == 0
    after = run("trades", "add", "AAPL", "buy", "1", "--price", "100")  # the lock is gone: it works
    assert after.exit_code == 0, after.stderr


def test_postgresql_row_lock_held_too_long_exits_6_and_writes_nothing(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    run = make_process_runner(pg_url, tmp_path)
    cli = make_cli_runner(pg_url)  # setup and reads in-process; the writers are processes
    open_two_positions(cli)
    with psycopg.connect(pg_url) as other:
        other.execute("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE")  # held until rollback
        blocked = run("trades", "add", "AAPL", "buy", "1", "--price", "100", env={"VB_BUSY_TIMEOUT": "1"})
        readable = cli("positions", "show", "AAPL", "--json")
        other.rollback()
    assert blocked.exit_code == 6, blocked.stderr
    assert blocked.stderr.startswith("vb: The ledger postgresql://postgres@127.0.0.1:5432/test")
    assert blocked.stderr.endswith(f"{BUSY_SENTENCE}\n")
    assert readable.exit_code == 0, readable.stderr
    assert position(cli, "AAPL")["qty"] == "100"
    assert count_fills(cli) == 0
    after = run("trades", "add", "AAPL", "buy", "1", "--price", "100")
    assert after.exit_code == 0, after.stderr


def test_postgresql_writer_waits_for_a_lock_released_in_time(pg_url: str, tmp_path: Path) -> None:
    import subprocess
    import time

    import psycopg

    from conftest import VB_EXE

    run = make_process_runner(pg_url, tmp_path)
    cli = make_cli_runner(pg_url)  # setup and reads in-process; the writers are processes
    open_two_positions(cli)
    with psycopg.connect(pg_url) as other, psycopg.connect(pg_url, autocommit=True) as watcher:
        other.execute("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE")
        writer = subprocess.Popen([VB_EXE, "--db", pg_url, "trades", "add", "AAPL", "buy", "1", "--price", "100"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Release only once the writer is seen queued behind our row lock (no guessing with sleeps).
        for _ in range(600):
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> %s"
                " AND query LIKE '%%ledger_head%%FOR UPDATE%%'"
                , (other.info.backend_pid,)).fetchone()
            if waiting and waiting[0] and writer.poll() is None:
                break
            assert writer.poll() is None, writer.communicate()
            time.sleep(0.1)
        other.rollback()
        _, stderr = writer.communicate(timeout=60)
    assert writer.returncode == 0, stderr
    assert position(cli, "AAPL")["qty"] == "101"
