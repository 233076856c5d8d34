"""Storage faults: a full disk, a read-only ledger, and files vb must refuse untouched (SPEC §1, §6)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import CLEAN_ENV, VB_EXE, make_cli_runner
from helpers import NOBODY, unprivileged_prefix

BUY = ("trades", "add", "AAPL", "buy", "1", "--price", "150", "--commission", "1")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def real_ledger(path: Path) -> Callable[..., object]:
    """A ledger with a position and a few fills, closed cleanly (no -wal or -shm left)."""
    cli = make_cli_runner(str(path))
    assert cli("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    for n in range(5):
        assert cli(*BUY, "--key", f"seed-{n}").exit_code == 0
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    return cli


def vb_process(path: Path, args: tuple[str, ...], home: Path, *, prefix: tuple[str, ...] = (),
               preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update({"HOME": str(home), "VB_DATA_DIR": str(home / "data")})
    return subprocess.run([*prefix, VB_EXE, "--db", str(path), *args], capture_output=True, text=True, env=env,
                          timeout=120, preexec_fn=preexec)


def holdings(cli) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    checked = cli("db", "check")
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    trades = json.loads(cli("trades", "list", "--format", "json").stdout)
    return json.loads(cli("positions", "show", "AAPL", "--json").stdout)["qty"], len(trades)


# ---- a full disk ------------------------------------------------------------------------------

def file_size_limit(limit: int) -> Callable[[], None]:
    """In the child: writes beyond `limit` bytes fail with EFBIG, as on a full disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_during_a_write_exits_6_and_keeps_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    cli = real_ledger(path)
    # 100 shares + 5 bought = 105 shares, 5 fills.
    assert holdings(cli) == ("105", 5)
    full = vb_process(path, BUY, tmp_path, preexec=file_size_limit(1000))
    assert full.returncode == 6, full.stderr
    assert full.stderr == f"vb: The disk holding {path} is full or failing; nothing was written.\n"
    assert full.stdout == ""
    assert holdings(cli) == ("105", 5)
    assert cli(*BUY).exit_code == 0  # space is back: the same write works
    assert holdings(cli) == ("106", 6)


def test_full_disk_when_creating_a_ledger_leaves_nothing_in_the_way(tmp_path: Path) -> None:
    path = tmp_path / "new" / "ledger.sqlite"
    path.parent.mkdir()  # an explicit ledger's directory is never created (SPEC §8.0)
    add = ("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150")
    full = vb_process(path, add, tmp_path, preexec=file_size_limit(1000))
    assert full.returncode == 6, full.stderr
    assert full.stderr == f"vb: The disk holding {path} is full or failing; nothing was written.\n"
    # Whatever was left is no empty or half-made file that vb would refuse later: the next run works.
    assert vb_process(path, add, tmp_path).returncode == 0
    cli = make_cli_runner(str(path))
    assert holdings(cli) == ("100", 0)


# ---- a read-only ledger (file modes bind only unprivileged users) -----------------------------------



@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory outside pytest's root-only tmp tree, so an unprivileged user can reach it."""
    directory = Path(tempfile.mkdtemp(prefix="vb-ro-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def test_read_only_ledger_reads_but_refuses_writes(shared_dir: Path) -> None:
    prefix = unprivileged_prefix()
    path = shared_dir / "ledger.sqlite"
    cli = real_ledger(path)
    if prefix:
        os.chown(shared_dir, NOBODY, NOBODY)
        os.chown(path, NOBODY, NOBODY)
    path.chmod(0o444)  # the owner made it read-only
    before = sha256(path)

    listed = vb_process(path, ("trades", "list", "--format", "json"), shared_dir, prefix=prefix)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 5
    refused = vb_process(path, BUY, shared_dir, prefix=prefix)
    assert refused.returncode == 6, refused.stderr
    assert refused.stderr == f"vb: The ledger {path} is read-only; nothing was written.\n"
    assert sha256(path) == before
    path.chmod(0o600)
    assert holdings(cli) == ("105", 5)


# ---- files vb must refuse, byte for byte untouched ---------------------------------------------------

def text_file(path: Path) -> str:
    path.write_text("date,price\n2026-01-02,150\n" * 50)
    return "is not a SQLite database, so it is not a vb ledger; it was left untouched."


def empty_file(path: Path) -> str:
    path.write_bytes(b"")
    return "is empty, so it is not a vb ledger; it was left untouched."


def other_program(path: Path, wal: bool) -> str:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [("x" * 200,)] * 100)
    conn.commit()
    conn.close()
    return "is another program's SQLite database, not a vb ledger; it was left untouched."


def truncated(path: Path) -> str:
    real_ledger(path)
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)
    return f"is corrupt (the file is truncated: {size // 2} bytes of {size}); it was left untouched. Restore it from a backup."


def overwritten(path: Path) -> str:
    real_ledger(path)
    page = 4096
    pages = path.stat().st_size // page
    with open(path, "r+b") as handle:
        for number in range(2, pages):  # every page but the first (which names the tables): garbage
            handle.seek(number * page + 8)
            handle.write(b"\xde\xad\xbe\xef" * 64)
    return "is corrupt"


def newer(path: Path) -> str:
    real_ledger(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    return "was written by a newer vb (schema 9999); upgrade vb to use it."


KINDS: dict[str, Callable[[Path], str]] = {
    "text": text_file,
    "empty": empty_file,
    "other-sqlite": lambda p: other_program(p, wal=False),
    "other-sqlite-wal": lambda p: other_program(p, wal=True),
    "truncated": truncated,
    "corrupt": overwritten,
    "newer": newer,
}
COMMANDS = (
    ("portfolios", "list"),
    ("positions", "add", "MSFT", "--at", "2020-01-01", "--qty", "1", "--cash", "100", "--anchor", "10"),
    BUY,
    ("db", "info"),
    ("db", "check"),
    ("db", "upgrade"),
)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_foreign_or_damaged_file_is_refused_untouched(tmp_path: Path, kind: str) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    path = directory / "ledger.sqlite"
    sentence = KINDS[kind](path)
    before, files = sha256(path), sorted(p.name for p in directory.iterdir())
    assert files == ["ledger.sqlite"]
    cli = make_cli_runner(str(path))
    for command in COMMANDS:
        result = cli(*command)
        assert result.exit_code == 6, (command, result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith("vb: ") and result.stderr.count("\n") == 1, result.stderr
        assert sentence in result.stderr, result.stderr
        assert sha256(path) == before
        assert sorted(p.name for p in directory.iterdir()) == files  # no -wal, -shm, journal or backup


# ---- migrations: a backup before upgrading, and the first revision's ledger keeps every row ------

FIXTURE_REV0001 = Path(__file__).parent / "fixtures" / "ledger_rev0001.sqlite"


def row_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in names}  # noqa: S608
    finally:
        conn.close()


def test_backup_before_upgrade_copies_the_whole_ledger_privately(tmp_path: Path) -> None:
    from vbcli.config import resolve_location
    from vbcli.store.ledger import backup_before_upgrade

    path = tmp_path / "ledger.sqlite"
    real_ledger(path)
    expected = row_counts(path)
    # Only revision 0001 exists so far, so the copy is taken directly rather than by a real upgrade.
    first = backup_before_upgrade(resolve_location(str(path)), "0001")
    second = backup_before_upgrade(resolve_location(str(path)), "0001")  # same second: its own name
    assert first != second
    for copy in (first, second):
        assert copy.name.startswith("ledger.sqlite.pre-0001-") and copy.name.endswith(".bak")
        assert copy.stat().st_mode & 0o777 == 0o600
        assert row_counts(copy) == expected
    assert make_cli_runner(str(first))("trades", "list", "--format", "json").exit_code == 0


@pytest.mark.skipif(not FIXTURE_REV0001.exists(), reason=f"{FIXTURE_REV0001.name} is not in tests/fixtures yet")
def test_first_revision_ledger_upgrades_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    path.write_bytes(FIXTURE_REV0001.read_bytes())
    before = row_counts(path)
    cli = make_cli_runner(str(path))
    assert cli("db", "upgrade").exit_code == 0
    checked = cli("db", "check")
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    after = row_counts(path)
    assert {name: after.get(name) for name in before} == before


@pytest.mark.skipif(not FIXTURE_REV0001.exists(), reason=f"{FIXTURE_REV0001.name} is not in tests/fixtures yet")
def test_first_revision_ledger_moves_to_postgresql_keeping_every_row(tmp_path: Path, pg_url: str) -> None:
    path = tmp_path / "old.sqlite"
    path.write_bytes(FIXTURE_REV0001.read_bytes())
    old, pg = make_cli_runner(str(path)), make_cli_runner(pg_url)
    dump = tmp_path / "all.json"
    exported = old("export", "all", "--format", "json", "--out", str(dump))
    assert exported.exit_code == 0, exported.stderr
    imported = pg("import", "all", str(dump))
    assert imported.exit_code == 0, imported.stderr
    counts = ("portfolios", "positions", "orders", "trades", "events", "dividends")
    info_old = json.loads(old("db", "info", "--json").stdout)
    info_pg = json.loads(pg("db", "info", "--json").stdout)
    assert {k: info_pg[k] for k in counts} == {k: info_old[k] for k in counts}
    assert info_old["trades"] > 0
    again = tmp_path / "again.json"
    assert pg("export", "all", "--format", "json", "--out", str(again)).exit_code == 0
    assert json.loads(again.read_text()) == json.loads(dump.read_text())
    assert pg("db", "check").exit_code == 0


def test_export_out_never_writes_onto_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    cli = real_ledger(path)
    before = sha256(path)
    link = tmp_path / "trades.csv"
    link.symlink_to(path)
    hard = tmp_path / "hard.csv"
    os.link(path, hard)
    for out in (str(link), str(path), f"{tmp_path}/./ledger.sqlite"):
        result = cli("export", "trades", "--format", "csv", "--out", out)
        assert result.exit_code in (2, 4), (out, result.stderr)
        assert result.stderr.startswith("vb: ") and result.stderr.count("\n") == 1
        assert sha256(path) == before
    assert link.is_symlink()
    # A second name of the same file (a hard link) is the ledger too: refused with exit 4, nothing written.
    written = cli("export", "trades", "--format", "csv", "--out", str(hard))
    assert written.exit_code == 4, written.stderr
    assert written.stderr == f"vb: {hard} is the ledger itself; choose another file for the export.\n"
    assert sha256(path) == before
    assert holdings(cli) == ("105", 5)
