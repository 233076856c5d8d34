"""Clocks (issue 18): ids stay in creation order per ledger when the clock goes back (SPEC §2),
and the daily order cap counts the orders recorded today, not ones stamped tomorrow."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import CLEAN_ENV, VB_EXE, make_cli_runner
from vbcli.domain import ids

FAKETIME = shutil.which("faketime")
pytestmark = pytest.mark.skipif(FAKETIME is None, reason="faketime is not installed (apt-get install faketime)")


def vb_at(offset: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run vb with the clock moved by `offset` (faketime's "-1h", "+1d")."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    return subprocess.run([FAKETIME, "-f", offset, VB_EXE, "--db", str(path), *args],  # type: ignore[list-item]
                          capture_output=True, text=True, env=env, timeout=120)


def creation_order(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM events ORDER BY seq")]


def test_ids_stay_ordered_by_creation_when_the_clock_goes_back(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    cli = make_cli_runner(str(path))
    assert cli("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "10", "--cash", "10000", "--anchor", "100").exit_code == 0
    first = json.loads(cli("trades", "add", "AAPL", "buy", "1", "--price", "100", "--json").stdout)
    back = vb_at("-1h", path, "trades", "add", "AAPL", "buy", "1", "--price", "100", "--json")
    assert back.returncode == 0, back.stderr
    second = json.loads(back.stdout)
    # The trade made second, an hour "earlier" by the clock, still sorts after the first.
    assert first["id"] < second["id"]
    assert ids.millis_of(second["id"]) >= ids.millis_of(first["id"])
    events = creation_order(path)
    assert events == sorted(events)  # every event id in seq order, the clock notwithstanding


def test_ids_from_two_processes_follow_the_ledger_not_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ahead = vb_at("+1d", path, "positions", "add", "AAPL", "--qty", "0", "--cash", "100")
    assert ahead.returncode == 0, ahead.stderr
    now = vb_at("+0", path, "positions", "add", "MSFT", "--qty", "0", "--cash", "100")
    assert now.returncode == 0, now.stderr
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT symbol, id FROM positions ORDER BY id").fetchall()
    assert [symbol for symbol, _id in rows] == ["AAPL", "MSFT"]


def test_the_daily_cap_counts_orders_recorded_today_not_ones_stamped_tomorrow(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    cli = make_cli_runner(str(path))
    assert cli("positions", "add", "AAPL", "--qty", "100", "--cash", "100000", "--anchor", "100",
               "--max-orders-per-day", "2").exit_code == 0
    for _ in range(2):  # a clock a day ahead stamps two orders tomorrow
        placed = vb_at("+1d", path, "orders", "place", "AAPL", "buy", "1", "--limit", "100")
        assert placed.returncode == 0, placed.stderr
    today = cli("orders", "place", "AAPL", "buy", "1", "--limit", "100")
    assert today.exit_code == 0, today.stderr  # 0 of today's 2 used
    assert cli("orders", "place", "AAPL", "buy", "1", "--limit", "100").exit_code == 0
    refused = cli("orders", "place", "AAPL", "buy", "1", "--limit", "100")
    assert refused.exit_code == 5 and "cap of 2 orders for this position is reached (2 placed today)" in refused.stderr
