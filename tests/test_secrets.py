"""Passwords in database URLs are never printed (SPEC §6), whatever characters they hold, and a
password typed on the command line is answered with a warning naming the safer ways."""

from __future__ import annotations

import string
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_cli_runner, pg_unavailable_reason
from vbcli.config import TYPED_PASSWORD_WARNING, mask_password, resolve_location

PASSWORDS = st.text(alphabet=string.printable.strip() + "é€ ", min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(password=PASSWORDS, user=st.sampled_from(["vb", "u.ser", "a_b"]))
def test_a_raw_password_with_any_character_is_parsed_and_masked(password: str, user: str) -> None:
    from sqlalchemy.engine import make_url

    location = resolve_location(f"postgresql://{user}:{password}@db.example:5433/ledger")
    assert location.display == f"postgresql://{user}:***@db.example:5433/ledger"
    url = make_url(location.url)
    meant = unquote(password)  # "%" and two hex digits is a URL escape, as libpq reads it
    assert (url.username, url.password, url.host, url.port, url.database) == (user, meant, "db.example", 5433, "ledger")
    assert location.secret == meant


@settings(max_examples=200, deadline=None)
@given(password=PASSWORDS)
def test_an_encoded_or_query_password_is_masked(password: str) -> None:
    encoded = resolve_location(f"postgres://vb:{quote(password, safe='')}@h/db?sslmode=require")
    assert encoded.display == "postgresql://vb:***@h/db?sslmode=require"
    assert encoded.secret == password
    query = resolve_location(f"postgresql://h/db?sslmode=require&password={quote(password, safe='')}&application_name=x")
    assert query.display == "postgresql://h/db?sslmode=require&password=***&application_name=x"
    assert query.secret == password


@settings(max_examples=200, deadline=None)
@given(password=st.text(alphabet=string.ascii_letters + string.digits + "/@?:#%&=+!$^()[]{}~", min_size=1, max_size=20))
def test_driver_messages_are_scrubbed(password: str) -> None:
    from vbcli.store.dberrors import _scrub

    location = resolve_location(f"postgresql://vb:{password}@h/db")
    message = f'connection to "postgresql://vb:{password}@h/db" failed: password authentication failed (password={password})'
    assert password not in _scrub(message, location)
    assert mask_password(f"postgresql://vb:{password}@h/db") == "postgresql://vb:***@h/db"


SECRET = "s3/cr@t?password=x"


def test_db_path_masks_and_warns_about_a_typed_password() -> None:
    result = make_cli_runner(f"postgresql://vb:{SECRET}@127.0.0.1:1/ledger")("db", "path")
    assert result.exit_code == 0
    assert result.stdout == "postgresql://vb:***@127.0.0.1:1/ledger\n"
    assert result.stderr == f"vb: warning: {TYPED_PASSWORD_WARNING}\n"
    assert "SQL_URL" in TYPED_PASSWORD_WARNING and "PGPASSFILE" in TYPED_PASSWORD_WARNING


def test_errors_never_print_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VB_CONNECT_TIMEOUT", "2")
    result = make_cli_runner(f"postgresql://vb:{SECRET}@127.0.0.1:1/ledger")("db", "info")
    assert result.exit_code == 6
    assert SECRET not in result.stderr and "s3/cr" not in result.stderr
    assert "127.0.0.1:1" in result.stderr


def test_sql_url_with_a_password_gives_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vbcli.cli import app

    monkeypatch.setenv("SQL_URL", f"postgresql://vb:{SECRET}@127.0.0.1:1/ledger")
    result = CliRunner().invoke(app, ["db", "path"])
    assert result.stdout == "postgresql://vb:***@127.0.0.1:1/ledger\n" and result.stderr == ""


def test_db_info_on_postgresql_masks_a_password_the_server_does_not_need() -> None:
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from conftest import PG_BASE, drop_pg_schema, new_pg_schema

    name, url = new_pg_schema()
    try:
        with_password = url.replace("postgresql://postgres@", f"postgresql://postgres:{quote(SECRET, safe='')}@")
        assert with_password != url, PG_BASE
        vb = make_cli_runner(with_password)
        assert vb("positions", "add", "AAPL", "--qty", "1", "--cash", "1", "--anchor", "1").exit_code == 0
        info = vb("db", "info", "--json")
        assert info.exit_code == 0, info.stderr
        assert SECRET not in info.stdout + info.stderr and quote(SECRET, safe="") not in info.stdout + info.stderr
        assert '"path": "postgresql://postgres:***@127.0.0.1:5432/test?' in info.stdout
        events = vb("events", "list", "--format", "json")
        assert SECRET not in events.stdout and quote(SECRET, safe="") not in events.stdout
    finally:
        drop_pg_schema(name)
