"""`vb db backup` and `vb db check`: consistent copies, and every kind of damage found."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import VB_EXE, make_cli_runner, make_process_runner


def seed(vb) -> None:
    for step in [
        ("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150"),
        ("trades", "add", "AAPL", "buy", "10", "--price", "145", "--commission", "1"),
        ("trades", "add", "AAPL", "sell", "4", "--price", "160"),
        ("positions", "deposit", "AAPL", "500"),
    ]:
        result = vb(*step)
        assert result.exit_code == 0, (step, result.stderr)


def test_check_ok_on_both_engines(vb):
    seed(vb)
    result = vb("db", "check")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: 1 positions, 2 fills")
    as_json = json.loads(vb("db", "check", "--json").stdout)
    assert as_json["ok"] is True and as_json["problems"] == []


def damage(path: str, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


CASES = {
    "qty changed": (["UPDATE positions SET qty = '107'"], "qty is 107 but its history gives 106"),
    "trade deleted": (["PRAGMA foreign_keys = OFF", "DELETE FROM trades WHERE side = 'sell'"],
                      "qty is 106 but its history gives 110"),
    "event altered": (["UPDATE events SET message = 'nothing happened' WHERE seq = 3"], "event 3 "),
    "event deleted": (["DELETE FROM events WHERE seq = 4"], "events with seq 4 are missing"),
    "fill event deleted": (["DELETE FROM events WHERE type = 'order_filled' AND seq = 3"], "has no order_filled event"),
    "event inserted": (["INSERT INTO events (id, seq, ts, type, message, data, prev_hash, hash) SELECT 'evt_fake', "
                        "(SELECT max(seq) + 1 FROM events), ts, 'cash_deposited', 'fake', '{}', hash, 'x' FROM events "
                        "ORDER BY seq DESC LIMIT 1"], "event "),
    "negative cash": (["UPDATE positions SET cash = '-5'"], "cash is negative (-5)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_finds_damage(sqlite_url, case):
    vb = make_cli_runner(sqlite_url)
    seed(vb)
    statements, expected = CASES[case]
    damage(sqlite_url, *statements)
    result = vb("db", "check")
    assert result.exit_code == 5, result.stdout
    assert expected in result.stdout
    assert "problem(s)" in result.stderr


def test_check_reports_every_problem_at_once(sqlite_url):
    vb = make_cli_runner(sqlite_url)
    seed(vb)
    damage(sqlite_url, "UPDATE positions SET qty = '1'", "UPDATE events SET message = 'x' WHERE seq = 2",
           "UPDATE orders SET filled_qty = '3' WHERE side = 'sell'")
    lines = vb("db", "check").stdout.splitlines()
    assert len(lines) == 3
    assert any("filled_qty is 3 but its executed trades sum to 4" in line for line in lines)


def test_pure_checks():
    from vbcli.services.shared.audit import event_hash
    from datetime import datetime, timezone

    from vbcli.domain.timeline import replay
    from vbcli.services.upkeep.dbcheck import chain_problems, position_problems
    from vbcli.store.history import History, fill_fact, opening_fact

    at = datetime(2026, 1, 5, tzinfo=timezone.utc)
    pos = SimpleNamespace(id="pos_x", symbol="X", opening_qty=Decimal(100), opening_cash=Decimal(10000), opening_avg_cost=Decimal(150),
                          opening_anchor=Decimal(150), opened_at=at, created_at=at, qty=Decimal(110), cash=Decimal("8549"),
                          anchor=Decimal(145), avg_cost=Decimal("149.5454545455"), cost_basis=Decimal(16450),
                          dividend_receivable=Decimal(0), realized_pnl=Decimal(0), total_commission=Decimal(1), total_dividends=Decimal(0))
    history = History(facts=[opening_fact(pos), fill_fact("trd_0", "buy", Decimal(10), Decimal(145), Decimal(1), at)])
    replayed = replay(history.facts)
    # 100 @ 150 + 10 @ 145 = 16 450 for 110 shares (avg 149.5454545455); cash 10 000 − 1 450 − 1 = 8 549.
    assert position_problems(pos, history, replayed) == []
    pos.cash = Decimal("8550")
    assert [p.message for p in position_problems(pos, history, replayed)] == ["cash is 8550 but its history gives 8549.00"]
    events, prev = [], ""
    for seq in (1, 2, 3):
        event = SimpleNamespace(id=f"evt_{seq}", seq=seq, ts=None, type="t", position_id=None, order_id=None,
                                trade_id=None, message=f"m{seq}", data="{}", prev_hash=prev, hash="")
        from datetime import datetime, timezone

        event.ts = datetime(2026, 1, seq, tzinfo=timezone.utc)
        event.hash = prev = event_hash(prev, event)
        events.append(event)
    assert chain_problems(events, 3, prev) == []
    assert len(chain_problems(events[:1] + events[2:], 3, prev)) == 1  # a gap, reported once
    assert [p.where for p in chain_problems(events[:2], 3, prev)] == ["ledger_head"]


def test_backup_is_private_and_never_overwrites(sqlite_url, tmp_path):
    vb = make_cli_runner(sqlite_url)
    seed(vb)
    made = vb("db", "backup")
    assert made.exit_code == 0, made.stderr
    copy = Path(made.stdout.strip())
    assert copy.parent == tmp_path / "data" / "backups" and copy.name.startswith("vb-") and copy.suffix == ".sqlite"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert make_cli_runner(str(copy))("db", "check").exit_code == 0
    target = tmp_path / "mine.sqlite"
    assert vb("db", "backup", str(target)).exit_code == 0
    before = target.read_bytes()
    again = vb("db", "backup", str(target))
    assert again.exit_code == 4 and target.read_bytes() == before
    assert vb("db", "backup", sqlite_url).exit_code == 4


def test_backup_of_postgresql_points_to_pg_dump(pg_url):
    result = make_cli_runner(pg_url)("db", "backup")
    assert result.exit_code == 4 and "pg_dump" in result.stderr


def test_backup_during_concurrent_writes_is_consistent(sqlite_url, tmp_path):
    vb = make_process_runner(sqlite_url, tmp_path)
    assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "0", "--cash", "1000000").exit_code == 0
    env = {**os.environ, "VB_DATA_DIR": str(tmp_path / "data")}
    script = f"for i in $(seq 1 6); do {VB_EXE} --db {sqlite_url} trades add AAPL buy 1 --price 10 >/dev/null || exit 1; done"
    writers = [subprocess.Popen(["sh", "-c", script], env=env) for _ in range(3)]
    copies = []
    try:
        for index in range(4):
            result = vb("db", "backup", str(tmp_path / f"copy{index}.sqlite"))
            assert result.exit_code == 0, result.stderr
            copies.append(Path(result.stdout.strip()))
    finally:
        assert all(writer.wait(timeout=300) == 0 for writer in writers)
    for copy in copies:
        checked = make_cli_runner(str(copy))("db", "check")
        assert checked.exit_code == 0, checked.stdout
    assert make_cli_runner(sqlite_url)("db", "check").stdout.startswith("ok: 1 positions, 18 fills")
