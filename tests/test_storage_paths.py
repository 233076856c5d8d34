"""Ledger paths (SPEC §1, §8.0): paths are file names, never URLs; an explicit missing ledger
is exit 3 for reads and created (with a notice) by writes; directories are never created for
an explicit ledger or --out; read-only directories and self-contained backups."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from conftest import make_cli_runner
from test_hardening_storage import NOBODY, shared_dir, unprivileged_prefix, vb_process  # noqa: F401  (fixture)

ADD = ("positions", "add", "AAPL", "--qty", "10", "--cash", "1000", "--anchor", "100")


@pytest.mark.parametrize("directory", ["dir?x=1", "a%20b", "with space", "ünïcødé €", "q?mode=ro&immutable=1"])
def test_directory_names_are_file_names_not_url_parts(tmp_path: Path, directory: str) -> None:
    folder = tmp_path / directory
    folder.mkdir()
    path = folder / "ledger.sqlite"
    cli = make_cli_runner(str(path))
    added = cli(*ADD)
    assert added.exit_code == 0, added.stderr
    assert added.stderr == f"vb: warning: created a new ledger at {path}.\n"
    # The ledger is exactly that file, private, and nothing was written beside it or above it.
    assert sorted(p.name for p in folder.iterdir()) == ["ledger.sqlite"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [directory]
    assert path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT symbol, qty FROM positions").fetchall() == [("AAPL", "10")]
    listed = cli("positions", "list", "--format", "json")
    assert listed.exit_code == 0 and [p["symbol"] for p in json.loads(listed.stdout)] == ["AAPL"]
    assert cli("db", "path").stdout == f"{path}\n"
    # The same file through a sqlite:/// URL: the rest of the URL is the path, literally.
    via_url = make_cli_runner(f"sqlite:///{path}")("positions", "list", "--format", "json")
    assert via_url.exit_code == 0 and len(json.loads(via_url.stdout)) == 1


def test_backup_of_a_ledger_in_a_url_like_directory_copies_it(tmp_path: Path) -> None:
    folder = tmp_path / "data?x=1"
    folder.mkdir()
    cli = make_cli_runner(str(folder / "ledger.sqlite"))
    assert cli(*ADD).exit_code == 0
    copy = tmp_path / "copy.sqlite"
    assert cli("db", "backup", str(copy)).exit_code == 0
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT symbol FROM positions").fetchall() == [("AAPL",)]


@pytest.mark.parametrize("command", [("positions", "list"), ("db", "info"), ("db", "check"), ("export", "trades"),
                                     ("trades", "list"), ("events", "list")])
def test_reading_an_explicit_ledger_that_does_not_exist_is_exit_3(tmp_path: Path, command: tuple[str, ...]) -> None:
    path = tmp_path / "typo.sqlite"
    result = make_cli_runner(str(path))(*command)
    assert result.exit_code == 3
    assert result.stderr == f"vb: There is no ledger at {path}; check --db or SQL_URL (a writing command creates it).\n"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_env_sql_url_that_does_not_exist_is_exit_3_for_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vbcli.cli import app

    path = tmp_path / "missing.sqlite"
    monkeypatch.setenv("SQL_URL", str(path))
    result = CliRunner().invoke(app, ["trades", "list"])
    assert result.exit_code == 3
    assert not path.exists()


def test_a_missing_directory_is_never_created_for_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "dir" / "x.sqlite"
    for args in (ADD, ("positions", "list")):
        result = make_cli_runner(str(path))(*args)
        assert result.exit_code == 3, result.stderr
        assert str(tmp_path / "typo" / "dir") in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_never_created_for_out(tmp_path: Path) -> None:
    cli = make_cli_runner(str(tmp_path / "ledger.sqlite"))
    assert cli(*ADD).exit_code == 0
    result = cli("export", "trades", "--out", str(tmp_path / "typo" / "t.csv"))
    assert result.exit_code == 3
    assert result.stderr == f"vb: The directory {tmp_path / 'typo'} does not exist; vb creates no directories for --out.\n"
    assert not (tmp_path / "typo").exists()


def test_the_default_ledger_is_still_created_with_its_directories(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vbcli.cli import app

    result = CliRunner().invoke(app, list(ADD))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # the default ledger is created silently, as on first use before
    data = tmp_path / "data"
    assert (data / "vb.sqlite").is_file() and data.stat().st_mode & 0o777 == 0o700


# ---- read-only media ---------------------------------------------------------------------------------

def _read_only_copy(shared: Path, name: str, make: str) -> Path:
    """A ledger (made by `vb` or by `vb db backup`) in a directory nobody may write."""
    source = shared / "src" / "ledger.sqlite"
    source.parent.mkdir()
    cli = make_cli_runner(str(source))
    assert cli(*ADD).exit_code == 0
    assert cli("trades", "add", "AAPL", "buy", "2", "--price", "99", "--commission", "1").exit_code == 0
    media = shared / "media"
    media.mkdir()
    target = media / name
    if make == "backup":
        assert cli("db", "backup", str(target)).exit_code == 0
    else:
        with sqlite3.connect(source) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target.write_bytes(source.read_bytes())  # a WAL-mode file copied to read-only media
    target.chmod(0o444)
    media.chmod(0o555)
    return target


@pytest.mark.parametrize("make", ["backup", "wal-file"])
def test_a_ledger_in_a_read_only_directory_reads_and_refuses_writes(shared_dir: Path, make: str) -> None:  # noqa: F811
    prefix = unprivileged_prefix()
    path = _read_only_copy(shared_dir, "ledger.sqlite", make)
    before = path.read_bytes()
    for args in (("positions", "list", "--format", "json"), ("trades", "list", "--format", "json"), ("db", "check"),
                 ("db", "info", "--json"), ("export", "all", "--format", "json")):
        read = vb_process(path, args, shared_dir, prefix=prefix)
        assert read.returncode == 0, (args, read.stderr)
    assert "ok: 1 positions, 1 fills" in vb_process(path, ("db", "check"), shared_dir, prefix=prefix).stdout
    refused = vb_process(path, ("trades", "add", "AAPL", "buy", "1", "--price", "99"), shared_dir, prefix=prefix)
    assert refused.returncode == 6
    assert refused.stderr == f"vb: The ledger {path} is read-only; nothing was written.\n"
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["ledger.sqlite"]
    path.parent.chmod(0o755)


def test_a_backup_is_self_contained_not_wal(tmp_path: Path) -> None:
    cli = make_cli_runner(str(tmp_path / "ledger.sqlite"))
    assert cli(*ADD).exit_code == 0
    copy = tmp_path / "copy.sqlite"
    assert cli("db", "backup", str(copy)).exit_code == 0
    header = copy.read_bytes()[:20]
    assert header[18:20] == b"\x01\x01"  # file format bytes: 1 = rollback journal, 2 = WAL
    assert not copy.with_name("copy.sqlite-wal").exists()
    assert copy.stat().st_mode & 0o777 == 0o600


def test_backup_runs_as_an_unprivileged_user_into_its_own_directory(shared_dir: Path) -> None:  # noqa: F811
    prefix = unprivileged_prefix()
    path = shared_dir / "ledger.sqlite"
    assert make_cli_runner(str(path))(*ADD).exit_code == 0
    out = shared_dir / "out"
    out.mkdir()
    if prefix:
        for item in (shared_dir, path, out):
            os.chown(item, NOBODY, NOBODY)
    made = vb_process(path, ("db", "backup", str(out / "b.sqlite")), shared_dir, prefix=prefix)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b.sqlite"]
