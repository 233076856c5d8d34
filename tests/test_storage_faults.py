"""Storage faults (issue 18): a full disk for every file vb writes, the ledger removed or
replaced under a running write, what --out refuses, stale temporary files, inert fault hooks
and APP_EVENTS=memory marks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CLEAN_ENV, VB_EXE, make_cli_runner
from test_hardening_storage import file_size_limit, vb_process

ADD = ("positions", "add", "AAPL", "--qty", "10", "--cash", "100000", "--anchor", "100")
BUY = ("trades", "add", "AAPL", "buy", "1", "--price", "100", "--commission", "1")


@pytest.fixture(scope="module")
def big_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger whose exports and backups are larger than the 64 kB "disk" of these tests."""
    folder = tmp_path_factory.mktemp("big")
    path = folder / "ledger.sqlite"
    cli = make_cli_runner(str(path))
    assert cli(*ADD).exit_code == 0
    fills = folder / "fills.csv"
    fills.write_text("position,side,qty,price,commission\n" + "AAPL,buy,1,100,1\n" * 600)
    imported = cli("import", "trades", str(fills))
    assert imported.exit_code == 0, imported.stderr
    fills.unlink()
    return path


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.mark.parametrize("args", [("export", "trades", "--format", "csv"), ("export", "all", "--format", "json"),
                                  ("export", "events", "--format", "ndjson")])
def test_full_disk_during_an_export_to_a_file_is_exit_6_with_nothing_left(big_ledger: Path, tmp_path: Path,
                                                                          args: tuple[str, ...]) -> None:
    target = tmp_path / "out" / "export.txt"
    target.parent.mkdir()
    target.write_text("the previous export\n")
    full = vb_process(big_ledger, (*args, "--out", str(target)), tmp_path, preexec=file_size_limit(64 * 1024))
    assert full.returncode == 6, full.stderr
    assert full.stderr == f"vb: The disk holding {target} is full or failing; nothing was written.\n"
    assert full.stdout == ""
    assert _leftovers(target.parent, set()) == ["export.txt"]
    assert target.read_text() == "the previous export\n"
    assert _leftovers(big_ledger.parent, {"ledger.sqlite"}) == []


def test_full_disk_during_a_backup_is_exit_6_with_no_journal_or_temp_file(big_ledger: Path, tmp_path: Path) -> None:
    target = tmp_path / "backups" / "b.sqlite"
    target.parent.mkdir()
    full = vb_process(big_ledger, ("db", "backup", str(target)), tmp_path, preexec=file_size_limit(64 * 1024))
    assert full.returncode == 6, full.stderr
    assert full.stderr == f"vb: The disk holding {target} is full or failing; no backup was written.\n"
    assert _leftovers(target.parent, set()) == []
    assert vb_process(big_ledger, ("db", "backup", str(target)), tmp_path).returncode == 0  # room again: it works


@pytest.mark.parametrize("args", [("trades", "list", "--format", "csv"), ("export", "trades"), ("db", "path")])
def test_stdout_on_a_full_disk_is_exit_6(big_ledger: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    with open("/dev/full", "w") as full:
        done = subprocess.run([VB_EXE, "--db", str(big_ledger), *args], stdout=full, stderr=subprocess.PIPE, text=True,
                              env=env, timeout=120)
    assert done.returncode == 6, done.stderr
    assert done.stderr == "vb: Cannot write the output: No space left on device; it is incomplete.\n"


# ---- the ledger file changed under a running write ---------------------------------------------------

def _start_sleeping_write(path: Path, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update({"HOME": str(home), "VB_FAULT": "sleep:after_trade_row", "VB_FAULT_SECONDS": "3"})
    proc = subprocess.Popen([VB_EXE, "--db", str(path), *BUY, "--format", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    assert proc.stderr.readline() == "vb: fault: sleeping at after_trade_row\n"
    return proc


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_ledger_removed_or_replaced_mid_write_is_exit_6_and_reports_nothing_written(tmp_path: Path, how: str) -> None:
    path = tmp_path / "ledger.sqlite"
    cli = make_cli_runner(str(path))
    assert cli(*ADD).exit_code == 0
    copy = tmp_path / "copy.sqlite"
    assert cli("db", "backup", str(copy)).exit_code == 0
    proc = _start_sleeping_write(path, tmp_path)
    if how == "deleted":
        path.unlink()
    else:
        os.replace(copy, path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 6, err
    assert err == f"vb: The ledger {path} was removed or replaced while vb was writing; nothing was written.\n"
    assert out == ""
    if how == "deleted":
        # The next read does not silently create an empty ledger in its place.
        listed = cli("trades", "list")
        assert listed.exit_code == 3 and not path.exists()
    else:
        assert json.loads(cli("trades", "list", "--format", "json").stdout) == []


# ---- what --out refuses ------------------------------------------------------------------------------

@pytest.fixture
def small(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "ledger.sqlite"
    cli = make_cli_runner(str(path))
    assert cli(*ADD).exit_code == 0
    return path, cli


@pytest.mark.parametrize("side", ["-journal", "-wal", "-shm"])
def test_out_refuses_the_files_sqlite_keeps_beside_the_ledger(small, side: str) -> None:  # type: ignore[no-untyped-def]
    path, cli = small
    target = path.with_name(path.name + side)
    for args in (("export", "trades", "--out", str(target)), ("db", "backup", str(target))):
        result = cli(*args)
        assert result.exit_code == 4, result.stderr
        assert result.stderr == f"vb: {target} is a file SQLite keeps beside the ledger; choose another file for the export.\n"
    assert not target.exists() or side != "-journal"


def test_out_refuses_a_fifo_and_a_device(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _path, cli = small
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/null")):
        result = cli("export", "trades", "--out", str(target))
        assert result.exit_code == 4
        assert result.stderr == f"vb: {target} is a FIFO, socket or device, not a regular file; give a file name, or - for stdout.\n"
    assert fifo.is_fifo()
    assert cli("export", "trades", "--out", "/dev/stdout").exit_code == 0


def test_stale_temporary_files_of_dead_writers_are_removed_at_the_next_run(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, cli = small
    old = time.time() - 3600
    dead = 4_000_000  # above any pid in use here (pid_max is 4194304 at most)
    stale = [tmp_path / f".t.csv.{dead}-0a1b2c3d.tmp", tmp_path / f".t.csv.{dead}-0a1b2c3d.tmp-journal",
             tmp_path / f".{path.name}.{dead}-deadbeef.new"]
    fresh = tmp_path / f".t.csv.{dead}-11111111.tmp"  # a minute old at most: maybe another machine's, kept
    running = tmp_path / f".t.csv.{os.getpid()}-22222222.tmp"  # its writer is alive, kept
    for item in (*stale, fresh, running):
        item.write_text("partial")
    for item in (*stale, running):
        os.utime(item, (old, old))
    assert cli("export", "trades", "--out", str(tmp_path / "t.csv")).exit_code == 0
    assert [item.exists() for item in stale] == [False, False, False]
    assert fresh.exists() and running.exists()


# ---- test hooks ---------------------------------------------------------------------------------------

def test_a_fault_hook_is_inert_without_the_test_suites_switch(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, cli = small
    env = {k: v for k, v in os.environ.items() if k not in (*CLEAN_ENV, "VB_FAULT_ARM")}
    env["VB_FAULT"] = "after_commit"
    done = subprocess.run([VB_EXE, "--db", str(path), *BUY, "--format", "json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["qty"] == "1"


def test_writes_with_app_events_memory_are_marked_so_db_check_passes(small) -> None:  # type: ignore[no-untyped-def]
    path, cli = small
    memory = {"APP_EVENTS": "memory"}
    assert cli(*BUY, env=memory).exit_code == 0
    assert cli("positions", "deposit", "AAPL", "50", env=memory).exit_code == 0
    assert cli("positions", "add", "MSFT", "--qty", "0", "--cash", "10", env=memory).exit_code == 0
    checked = cli("db", "check")
    assert checked.exit_code == 0, checked.stdout
    # A trade whose event was removed afterwards is still found.
    assert cli(*BUY).exit_code == 0
    with sqlite3.connect(path) as conn:
        trade = conn.execute("SELECT id FROM trades ORDER BY id DESC LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM events WHERE trade_id = ? AND type = 'order_filled'", (trade,))
    checked = cli("db", "check")
    assert checked.exit_code == 5
    assert f"trade {trade}: has no order_filled event in the audit trail" in checked.stdout


def test_memory_marks_excuse_only_their_own_rows_when_ids_share_a_millisecond(small) -> None:  # type: ignore[no-untyped-def]
    """After the clock went back, every new id carries the millisecond of the last one; a memory
    write's mark must still not cover the audited write that follows it (a whole-id range)."""
    from vbcli.domain import ids

    path, cli = small
    saved = ids._last
    ahead = (time.time_ns() // 1_000_000 + 3_600_000) << 80  # an id an hour ahead of this clock
    ids.advance_past("trd_" + ids._encode(ahead, 26))
    try:
        assert cli(*BUY, env={"APP_EVENTS": "memory"}).exit_code == 0
        assert cli(*BUY).exit_code == 0
    finally:
        ids._last = saved  # later tests in this process make ids by the real clock again
    with sqlite3.connect(path) as conn:
        first, second = [row[0] for row in conn.execute("SELECT id FROM trades ORDER BY id")]
        assert ids.millis_of(first) == ids.millis_of(second)  # one millisecond for both writes
        conn.execute("DELETE FROM events WHERE trade_id = ? AND type = 'order_filled'", (second,))
    checked = cli("db", "check")
    assert checked.exit_code == 5
    assert f"trade {second}: has no order_filled event in the audit trail" in checked.stdout
    assert f"trade {first}:" not in checked.stdout  # the memory write's own trade stays excused
