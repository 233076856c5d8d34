"""PostgreSQL as a first-class engine: failures to connect, and the whole-transaction retry.

Connection failures run `vb` as a real process: an unreachable server, a role that does not
exist, a missing database and a server that never answers all give exit 6 with a sentence
naming the host, and never print the password from the URL.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import make_process_runner, pg_unavailable_reason

PASSWORD = "Sup3r-s3cret-PW"


def closed_port() -> int:
    """A local TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port whose listener accepts connections and never says a word (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def run_vb(url: str, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    """Run vb on `url` given as SQL_URL, the way a URL with a password should be given (SPEC §8.0)."""
    run = make_process_runner(None, tmp_path)
    return run(*args, env={"VB_CONNECT_TIMEOUT": "2", "SQL_URL": url}, timeout=60)


def test_a_password_typed_in_db_warns_before_anything_else(tmp_path: Path) -> None:
    port = closed_port()
    run = make_process_runner(f"postgresql://vbuser:{PASSWORD}@127.0.0.1:{port}/test", tmp_path)
    result = run("portfolios", "list", env={"VB_CONNECT_TIMEOUT": "2"}, timeout=60)
    assert result.exit_code == 6
    assert result.stderr.splitlines() == [
        "vb: warning: a password typed in --db is visible to every local user in the process list; put the URL "
        "in the SQL_URL environment variable, or the password in a PGPASSFILE (~/.pgpass), instead.",
        f"vb: Cannot reach the PostgreSQL server at 127.0.0.1:{port} (Connection refused); check that it runs and the URL.",
    ]
    assert_never_shows_password(result)


def assert_never_shows_password(result) -> None:  # type: ignore[no-untyped-def]
    assert PASSWORD not in result.stdout
    assert PASSWORD not in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_server_exits_6_naming_host(tmp_path: Path) -> None:
    port = closed_port()
    url = f"postgresql://vbuser:{PASSWORD}@127.0.0.1:{port}/test"
    for args in (("portfolios", "list"), ("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "1", "--cash", "100", "--anchor", "10")):
        result = run_vb(url, tmp_path, *args)
        assert result.exit_code == 6, result.stderr
        assert result.stderr == f"vb: Cannot reach the PostgreSQL server at 127.0.0.1:{port} (Connection refused); check that it runs and the URL.\n"
        assert result.stdout == ""
        assert_never_shows_password(result)


def test_server_that_never_answers_times_out_with_exit_6(tmp_path: Path, silent_server: int) -> None:
    url = f"postgresql://vbuser:{PASSWORD}@127.0.0.1:{silent_server}/test"
    result = run_vb(url, tmp_path, "trades", "list")  # the 60 s subprocess limit guards against a hang
    assert result.exit_code == 6, result.stderr
    assert f"The PostgreSQL server at 127.0.0.1:{silent_server} did not answer within 2s (VB_CONNECT_TIMEOUT)" in result.stderr
    assert_never_shows_password(result)


@pytest.fixture
def pg_server() -> None:
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.mark.usefixtures("pg_server")
def test_unknown_role_with_password_exits_6_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://no_such_role_vb:{PASSWORD}@127.0.0.1:5432/test"
    for args in (("portfolios", "list"), ("db", "info"), ("trades", "add", "AAPL", "buy", "1", "--price", "10")):
        result = run_vb(url, tmp_path, *args)
        assert result.exit_code == 6, result.stderr
        assert result.stderr == (
            "vb: The PostgreSQL server at 127.0.0.1:5432 refused the login of user 'no_such_role_vb'; "
            "check the user and password in the URL.\n"
        )
        assert_never_shows_password(result)


@pytest.mark.usefixtures("pg_server")
def test_missing_database_exits_6_naming_it(tmp_path: Path) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/no_such_db_vb"
    result = run_vb(url, tmp_path, "portfolios", "list")
    assert result.exit_code == 6, result.stderr
    assert result.stderr == (
        "vb: The database 'no_such_db_vb' does not exist on the PostgreSQL server at 127.0.0.1:5432; create it first (createdb).\n"
    )
    assert_never_shows_password(result)


def test_password_masked_where_the_url_is_printed(tmp_path: Path) -> None:
    # An empty user name and an "@" inside the password are the awkward cases for masking.
    for url in (f"postgresql://:{PASSWORD}@127.0.0.1:1/test", f"postgresql://u:{PASSWORD}@x@127.0.0.1:1/test"):
        result = run_vb(url, tmp_path, "db", "path")
        assert result.exit_code == 0, result.stderr
        assert "***" in result.stdout
        assert_never_shows_password(result)


def test_malformed_url_is_a_usage_error_without_password(tmp_path: Path) -> None:
    result = run_vb(f"postgresql://u:{PASSWORD}@127.0.0.1:notaport/test", tmp_path, "portfolios", "list")
    assert result.exit_code == 2, result.stderr
    assert result.stderr == "vb: The database URL postgresql://u:***@127.0.0.1:notaport/test is malformed; see `vb --help` for the form.\n"
    assert_never_shows_password(result)


def test_bad_timeout_settings_are_usage_errors(tmp_path: Path) -> None:
    ledger = tmp_path / "l.sqlite"
    on_sqlite = make_process_runner(str(ledger), tmp_path)
    on_pg = make_process_runner(f"postgresql://u@127.0.0.1:{closed_port()}/test", tmp_path)
    for run, name, value in ((on_sqlite, "VB_BUSY_TIMEOUT", "soon"), (on_sqlite, "VB_BUSY_TIMEOUT", "nan"),
                             (on_pg, "VB_CONNECT_TIMEOUT", "-1")):
        result = run("portfolios", "list", env={name: value})
        assert result.exit_code == 2, (name, value, result.stderr)
        assert result.stderr.startswith(f"vb: {name} must be ")
    assert not ledger.exists()  # settings are checked before anything is created


# ---- the whole-transaction retry, with real PostgreSQL errors ----------------------------------

RAISE_SERIALIZATION_FAILURE = "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$"
RAISE_UNIQUE_VIOLATION = "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'unique_violation'; END $$"


def test_serialization_failure_reruns_the_whole_transaction(pg_url: str) -> None:
    from sqlalchemy import text

    from vbcli.config import resolve_location
    from vbcli.services.ledger import portfolios
    from vbcli.store.ledger import open_ledger

    ledger = open_ledger(resolve_location(pg_url))
    attempts: list[int] = []

    def work(session):  # type: ignore[no-untyped-def]
        attempts.append(1)
        # Each attempt writes first; the failed attempt's row must vanish with its transaction.
        portfolios.add(session, name=f"attempt{len(attempts)}")
        if len(attempts) == 1:
            session.exec(text(RAISE_SERIALIZATION_FAILURE))
        return "done"

    try:
        assert ledger.write(work) == "done"
        with ledger.read() as session:
            names = sorted(p["name"] for p in portfolios.list_all(session))
    finally:
        ledger.close()
    assert len(attempts) == 2
    assert names == ["attempt2", "default"]


def test_other_database_errors_are_not_retried(pg_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from vbcli.config import resolve_location
    from vbcli.store.dberrors import pg_sqlstate
    from vbcli.store.ledger import open_ledger

    ledger = open_ledger(resolve_location(pg_url))
    attempts: list[int] = []

    def work(session):  # type: ignore[no-untyped-def]
        attempts.append(1)
        session.exec(text(RAISE_UNIQUE_VIOLATION))

    try:
        with pytest.raises(IntegrityError) as raised:
            ledger.write(work)
    finally:
        ledger.close()
    assert pg_sqlstate(raised.value) == "23505"
    assert len(attempts) == 1


def test_retries_give_up_after_the_last_attempt(pg_url: str) -> None:
    from sqlalchemy import text

    from vbcli.config import resolve_location
    from vbcli.errors import DatabaseUnavailable
    from vbcli.store.ledger import open_ledger

    ledger = open_ledger(resolve_location(pg_url))
    attempts: list[int] = []

    def work(session):  # type: ignore[no-untyped-def]
        attempts.append(1)
        session.exec(text(RAISE_SERIALIZATION_FAILURE))

    try:
        with pytest.raises(DatabaseUnavailable, match="stayed busy with conflicting writers"):
            ledger.write(work)
    finally:
        ledger.close()
    assert len(attempts) == 5
