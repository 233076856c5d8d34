"""The schema: migrations equal the models, old ledgers upgrade keeping every row, foreign or
newer files are refused untouched, and the APP_* settings of SPEC §1."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import make_cli_runner
from vbcli.store.tables import SCHEMA_REVISION

FIXTURE = Path(__file__).parent / "fixtures" / "ledger_rev0001.sqlite"
TABLES = ("portfolios", "positions", "orders", "trades", "cash_flows", "dividends", "events", "idempotency_keys")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def row_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    finally:
        conn.close()


def one_line_error(result, code: int, contains: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and contains in result.stderr, result.stderr


# ---- the migrated schema is the models' schema -----------------------------------------------------


def _schema_differences(url: str, metadata) -> list:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from vbcli.config import resolve_location
    from vbcli.store.ledger import open_ledger

    ledger = open_ledger(resolve_location(url))
    try:
        with ledger.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return list(compare_metadata(context, metadata))
    finally:
        ledger.close()


def test_migrated_schema_matches_the_models(db_url):
    from sqlmodel import SQLModel

    import vbcli.store.tables  # noqa: F401  (registers the tables)

    assert _schema_differences(db_url, SQLModel.metadata) == []


def test_the_schema_comparison_does_see_a_difference(db_url):
    # The check above can fail: a model with one more column than the migration is reported.
    from sqlalchemy import Column, MetaData, String

    from sqlmodel import SQLModel

    import vbcli.store.tables  # noqa: F401

    metadata = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["portfolios"].append_column(Column("extra", String(10)))
    differences = _schema_differences(db_url, metadata)
    assert [d[0] for d in differences] == ["add_column"]


# ---- the first revision's ledger upgrades keeping every row -------------------------------------------


def test_fixture_is_at_the_first_revision():
    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    finally:
        conn.close()


def test_rev0001_ledger_upgrades_to_head_keeping_every_row(tmp_path):
    from vbcli.store.tables import SCHEMA_REVISION

    copy = tmp_path / "old.sqlite"
    shutil.copyfile(FIXTURE, copy)
    before = row_counts(copy)
    # What tests/fixtures/make_rev0001.py wrote: 2 portfolios (default, alt), 3 positions, 4 orders
    # (the voided sell's order included), 4 trades (one voided), 1 deposit, 1 key.
    assert {k: before[k] for k in ("portfolios", "positions", "orders", "trades", "cash_flows", "idempotency_keys")} == {
        "portfolios": 2, "positions": 3, "orders": 4, "trades": 4, "cash_flows": 1, "idempotency_keys": 1}

    vb = make_cli_runner(str(copy))
    upgraded = vb("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert row_counts(copy) == before

    info = json.loads(vb("db", "info", "--json").stdout)
    # Upgraded to the head revision; a copy is kept aside exactly when there was something to upgrade
    # (with 0001 as the head the same ledger is only opened; from 0002 on this upgrades for real).
    assert info["schema_revision"] == SCHEMA_REVISION
    kept = sorted(p.name for p in tmp_path.glob("old.sqlite.pre-0001-*.bak"))
    assert len(kept) == (0 if SCHEMA_REVISION == "0001" else 1), kept
    assert {k: info[k] for k in ("portfolios", "positions", "orders", "trades", "events")} == {
        k: before[k] for k in ("portfolios", "positions", "orders", "trades", "events")}

    aapl = json.loads(vb("positions", "show", "AAPL", "--json").stdout)
    # 100 @ 150 + 10 000; buy 4 @ 145 + 1 → 9 419; buy 6 @ 146 + 0.09 (876·0.0001 = 0.0876) → 8 542.91;
    # sell 5 @ 155 − 0.5 then voided → 8 542.91; deposit 100.10 → 8 643.01. avg (15 000 + 580 + 876)/110 = 149.6.
    assert (aapl["qty"], aapl["cash"], aapl["avg_cost"], aapl["anchor"], aapl["total_commission"], aapl["realized_pnl"]) == (
        "110", "8643.01", "149.6", "155", "1.09", "0")
    assert aapl["order_policy"]["trigger_up"] == "0.04"
    msft = json.loads(vb("positions", "show", "alt/MSFT", "--json").stdout)
    # 10 @ 300 + 0.30 commission: 5 000 − 3 000.30 = 1 999.70.
    assert (msft["qty"], msft["cash"], msft["avg_cost"]) == ("10", "1999.70", "300")
    trades = json.loads(vb("trades", "list", "--json").stdout)
    assert [(t["symbol"], t["side"], t["qty"], t["price"], t["status"], t["executed_at"]) for t in trades] == [
        ("AAPL", "sell", "5", "155", "voided", "2026-01-08T15:00:00Z"),
        ("MSFT", "buy", "10", "300", "executed", "2026-01-07T15:00:00Z"),
        ("AAPL", "buy", "6", "146", "executed", "2026-01-06T15:00:00Z"),
        ("AAPL", "buy", "4", "145", "executed", "2026-01-05T15:00:00Z"),
    ]
    # Revision 2 replays every position from its facts: the upgraded ledger is what its timeline says. The
    # anchor 155 of the voided sell (revision 1 kept it) is kept by an anchor fact the migration records.
    checked = vb("db", "check")
    assert checked.exit_code == 0, checked.stdout
    assert checked.stdout.startswith("ok: 3 positions, 3 fills")
    # The old key still replays; the ledger takes new writes.
    replay = vb("trades", "add", "alt/MSFT", "buy", "10", "--price", "300", "--at", "2026-01-07T15:00:00Z", "--key", "msft-1")
    assert replay.exit_code == 0
    assert vb("positions", "deposit", "alt/MSFT", "0.30").exit_code == 0
    assert row_counts(copy)["cash_flows"] == 2 and row_counts(copy)["trades"] == 4


# ---- refusals: newer, foreign, corrupt -----------------------------------------------------------


def _fresh_ledger(path: Path) -> None:
    vb = make_cli_runner(str(path))
    assert vb("db", "upgrade").exit_code == 0  # a write creates an explicit ledger; a read would be exit 3
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")  # one file, so its hash is the whole ledger
    conn.close()


def _assert_refused_untouched(path: Path, contains: str) -> None:
    before = digest(path)
    siblings = sorted(p.name for p in path.parent.iterdir())
    for args in (("portfolios", "list"), ("positions", "add", "X", "--cash", "1"), ("db", "upgrade"), ("db", "info")):
        one_line_error(make_cli_runner(str(path))(*args), 6, contains)
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == siblings  # no -wal, -shm or backup left


def test_a_ledger_from_a_newer_vb_is_refused_untouched(tmp_path):
    path = tmp_path / "newer.sqlite"
    _fresh_ledger(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    _assert_refused_untouched(path, "written by a newer vb (schema 9999)")


def test_a_text_file_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("groceries: milk, eggs\n")
    _assert_refused_untouched(path, "is not a SQLite database")


def test_another_programs_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("CREATE TABLE tags (name TEXT)")
    conn.commit()
    conn.close()
    _assert_refused_untouched(path, "another program's SQLite database")


def test_a_corrupt_ledger_is_refused_untouched(tmp_path):
    path = tmp_path / "broken.sqlite"
    _fresh_ledger(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page, past the header
    path.write_bytes(bytes(data))
    _assert_refused_untouched(path, "broken.sqlite")


def test_a_postgresql_database_with_other_tables_is_refused_untouched(pg_url):
    import psycopg

    from conftest import PG_BASE

    schema = pg_url.rsplit("%3D", 1)[1]
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.notes (id int)")
    result = make_cli_runner(pg_url)("portfolios", "list")
    one_line_error(result, 6, "holds other tables but no vb ledger")
    with psycopg.connect(PG_BASE) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()
    assert tables == [("notes",)]


# ---- APP_AUTO_CREATE, APP_PERSISTENCE, APP_EVENTS -----------------------------------------------


def test_auto_create_false_asks_for_db_upgrade(tmp_path):
    path = tmp_path / "new" / "ledger.sqlite"
    path.parent.mkdir()  # an explicit ledger's directory is never created (SPEC §8.0)
    vb = make_cli_runner(str(path))
    result = vb("portfolios", "add", "x", env={"APP_AUTO_CREATE": "false"})
    one_line_error(result, 6, "run `vb db upgrade`")
    assert not path.exists()
    upgraded = vb("db", "upgrade", env={"APP_AUTO_CREATE": "false"})
    from vbcli.store.tables import SCHEMA_REVISION

    assert upgraded.exit_code == 0 and f"schema revision {SCHEMA_REVISION}" in upgraded.stderr
    listed = vb("portfolios", "list", "--json", env={"APP_AUTO_CREATE": "false"})
    assert [p["name"] for p in json.loads(listed.stdout)] == ["default"]
    one_line_error(vb("portfolios", "list", env={"APP_AUTO_CREATE": "maybe"}), 2, "APP_AUTO_CREATE must be true or false")


def test_auto_create_false_on_postgresql(pg_url):
    vb = make_cli_runner(pg_url)
    one_line_error(vb("portfolios", "list", env={"APP_AUTO_CREATE": "false"}), 6, "run `vb db upgrade`")
    assert vb("db", "upgrade", env={"APP_AUTO_CREATE": "false"}).exit_code == 0
    assert vb("portfolios", "list", env={"APP_AUTO_CREATE": "false"}).exit_code == 0


def test_memory_persistence_warns_and_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    vb = make_cli_runner(str(tmp_path / "unused.sqlite"))
    result = vb("positions", "add", "X", "--cash", "5", "--json", env={"APP_PERSISTENCE": "memory"})
    assert result.exit_code == 0
    assert json.loads(result.stdout)["cash"] == "5"
    assert "warning: APP_PERSISTENCE=memory" in result.stderr
    # Nothing was kept anywhere: a new process (here: a new ledger) starts empty.
    again = vb("positions", "list", "--json", env={"APP_PERSISTENCE": "memory"})
    assert json.loads(again.stdout) == []
    assert not (tmp_path / "unused.sqlite").exists() and not (tmp_path / "data").exists()


def test_memory_events_warn_and_keep_no_events(db_url):
    vb = make_cli_runner(db_url)
    result = vb("positions", "add", "X", "--cash", "5", env={"APP_EVENTS": "memory"})
    assert result.exit_code == 0 and "warning: APP_EVENTS=memory: audit events are not kept" in result.stderr
    assert vb("positions", "deposit", "X", "1", env={"APP_EVENTS": "memory"}).exit_code == 0
    assert json.loads(vb("positions", "show", "X", "--json").stdout)["cash"] == "6"
    assert json.loads(vb("events", "list", "--json").stdout) == []
    assert vb("positions", "deposit", "X", "1").exit_code == 0
    assert [e["type"] for e in json.loads(vb("events", "list", "--json").stdout)] == ["cash_deposited"]
    one_line_error(vb("events", "list", env={"APP_EVENTS": "file"}), 2, "APP_EVENTS must be one of sql, memory")


@pytest.mark.parametrize("value", ["disk", "SQLITE"])
def test_bad_persistence_setting_is_a_usage_error(tmp_path, value):
    one_line_error(make_cli_runner(str(tmp_path / "l.sqlite"))("portfolios", "list", env={"APP_PERSISTENCE": value}), 2,
                   "APP_PERSISTENCE must be one of sql, memory")
