"""Shared fixtures: a fresh ledger on SQLite and on PostgreSQL, and ways to run `vb`.

PostgreSQL tests use the server at 127.0.0.1:5432 (database `test`, or VB_TEST_PG), each
test in a schema of its own; where no server answers they are skipped with the reason.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BASE = os.environ.get("VB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
VB_EXE = shutil.which("vb", path=str(Path(sys.executable).parent)) or shutil.which("vb")
CLEAN_ENV = ("SQL_URL", "VB_FORMAT", "APP_PERSISTENCE", "APP_EVENTS", "APP_AUTO_CREATE", "VB_DEBUG", "VB_FAULT", "VB_BUSY_TIMEOUT", "VB_SERVER")


@functools.cache
def pg_unavailable_reason() -> str | None:
    """None when the PostgreSQL test server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_BASE, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: skip, and say why
        return f"PostgreSQL test server not reachable at {PG_BASE}: {str(exc).strip().splitlines()[0]}"
    return None


def new_pg_schema() -> tuple[str, str]:
    """Create an empty schema; return (its name, a URL whose search_path is that schema)."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in PG_BASE else "?"
    return name, f"{PG_BASE}{separator}options=-csearch_path%3D{name}"


def drop_pg_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting of the developer's machine leaks into a test; the data directory is private."""
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VB_FAULT_ARM", "tests-only")  # arms vbcli/faults.py's hooks for the suite only
    monkeypatch.setenv("VB_SERVER_SOCKET", str(tmp_path / "no-server.sock"))  # a developer's command server stays out


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.sqlite")


@pytest.fixture
def pg_url() -> Iterator[str]:
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    name, url = new_pg_schema()
    try:
        yield url
    finally:
        drop_pg_schema(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty ledger location on each engine."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(fixture)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


VbRunner = Callable[..., Result]


@pytest.fixture
def vb(db_url: str) -> VbRunner:
    """Run `vb --db <fresh ledger> ARGS…` in-process (CliRunner)."""
    return make_cli_runner(db_url)


def make_cli_runner(db_url: str) -> VbRunner:
    from typer.testing import CliRunner

    from vbcli.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(app, ["--db", db_url, *args], input=input, env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def vb_proc(db_url: str, tmp_path: Path) -> VbRunner:
    """Run the installed `vb` as a real process with a private HOME."""
    return make_process_runner(db_url, tmp_path)


def make_process_runner(db_url: str | None, home: Path, base_env: dict[str, str] | None = None) -> VbRunner:
    """`vb` processes with a private HOME; `base_env` for every run (a command server's socket, say)."""
    assert VB_EXE, "the vb console script is not installed (pip install -e .)"

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        full_env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        full_env.update({"HOME": str(home), "VB_DATA_DIR": str(home / "data"), **(base_env or {})})
        full_env.update(env or {})
        argv = [VB_EXE, *(["--db", db_url] if db_url else []), *args]
        done = subprocess.run(argv, input=input, capture_output=True, text=True, env=full_env, timeout=timeout)
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def ledger(db_url: str) -> Iterator[object]:
    """An opened Ledger for service-level tests."""
    from vbcli.config import resolve_location
    from vbcli.store.ledger import open_ledger

    opened = open_ledger(resolve_location(db_url))
    try:
        yield opened
    finally:
        opened.close()
