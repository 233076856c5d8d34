"""`vb export`: every kind and format, filters, CSV rules, atomic files, flat memory."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import VB_EXE, make_process_runner

TRADE_HEAD = "id,order_id,position_id,symbol,side,qty,price,commission,executed_at"


def seed(vb) -> None:
    steps = [
        ("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150"),
        ("positions", "add", "MSFT", "--at", "2020-01-01", "--qty", "10", "--cash", "5000", "--anchor", "400"),
        ("trades", "add", "AAPL", "buy", "10", "--price", "145.5", "--commission", "1", "--at", "2026-01-05T15:00:00Z", "--key", "=cmd"),
        ("trades", "add", "AAPL", "sell", "4", "--price", "160.25", "--at", "2026-01-06T23:59:59Z"),
        ("trades", "add", "MSFT", "buy", "1", "--price", "390", "--at", "2026-01-07T00:00:00Z"),
        ("positions", "deposit", "AAPL", "500"),
        ("dividends", "add", "AAPL", "--per-share", "0.5", "--ex-date", "2026-01-10"),
    ]
    for step in steps:
        result = vb(*step)
        assert result.exit_code == 0, (step, result.stderr)


@pytest.mark.parametrize("kind", ["trades", "orders", "events", "positions", "dividends"])
def test_every_kind_in_every_format(vb, kind):
    seed(vb)
    as_json = json.loads(vb("export", kind, "--format", "json").stdout)
    lines = vb("export", kind, "--format", "ndjson").stdout.splitlines()
    rows = list(csv.DictReader(io.StringIO(vb("export", kind, "--format", "csv").stdout)))
    assert len(as_json) == len(lines) == len(rows) > 0
    assert [json.loads(line) for line in lines] == as_json
    assert [row["id"] for row in rows] == [obj["id"] for obj in as_json]


def test_trades_csv_header_order_and_escaping(vb):
    seed(vb)
    text = vb("export", "trades").stdout
    assert text.startswith(TRADE_HEAD + ",")
    assert "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    # Oldest first; the key "=cmd" is neutralised for spreadsheets; decimals stay exact.
    assert [(r["symbol"], r["side"], r["qty"], r["price"]) for r in rows] == [
        ("AAPL", "buy", "10", "145.5"), ("AAPL", "sell", "4", "160.25"), ("MSFT", "buy", "1", "390")]
    assert rows[0]["key"] == "'=cmd"
    assert rows[0]["executed_at"] == "2026-01-05T15:00:00Z"
    # Commission of the sell: 4 × 160.25 = 641 × 0.01% = 0.0641 → 0.06 (half-up to cents).
    assert rows[1]["commission"] == "0.06"


def test_filters(vb):
    seed(vb)

    def ids(*args: str) -> list[str]:
        result = vb("export", *args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return [(row.get("symbol"), row.get("side")) for row in json.loads(result.stdout)]

    # --until with a date includes the whole day (23:59:59 sell); --since is inclusive at midnight.
    assert ids("trades", "--until", "2026-01-06") == [("AAPL", "buy"), ("AAPL", "sell")]
    assert ids("trades", "--since", "2026-01-07") == [("MSFT", "buy")]
    assert ids("trades", "--since", "2026-01-06", "--until", "2026-01-06") == [("AAPL", "sell")]
    assert ids("trades", "AAPL", "--side", "sell") == [("AAPL", "sell")]
    assert ids("trades", "--portfolio", "default", "--side", "buy") == [("AAPL", "buy"), ("MSFT", "buy")]
    assert ids("orders", "MSFT") == [("MSFT", "buy")]
    events = json.loads(vb("export", "events", "AAPL", "--type", "order_filled", "--format", "json").stdout)
    assert [e["type"] for e in events] == ["order_filled", "order_filled"]
    assert len(json.loads(vb("export", "positions", "--status", "open", "--format", "json").stdout)) == 2
    assert vb("export", "trades", "--portfolio", "nope").exit_code == 3
    wrong = vb("export", "positions", "--side", "buy")
    assert wrong.exit_code == 2 and "--side" in wrong.stderr
    assert vb("export", "trades", "--format", "xml").exit_code == 2
    assert vb("export", "all", "--format", "csv").exit_code == 2


def test_export_all_holds_every_object(vb):
    seed(vb)
    doc = json.loads(vb("export", "all", "--format", "json").stdout)
    assert doc["vb_export"] == 1
    assert [len(doc[name]) for name in ("portfolios", "positions", "orders", "trades", "cash_flows", "dividends")] == [1, 2, 3, 3, 1, 1]
    assert doc["positions"][0]["opening_qty"] == "100" and doc["positions"][0]["trigger_up"] == "0.03"
    assert [e["seq"] for e in doc["events"]] == list(range(1, doc["ledger_head"]["event_count"] + 1))
    assert doc["events"][-1]["hash"] == doc["ledger_head"]["last_hash"]
    assert [k["key"] for k in doc["idempotency_keys"]] == ["=cmd"]


def test_file_is_replaced_whole(vb, tmp_path):
    seed(vb)
    target = tmp_path / "out" / "trades.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    assert vb("export", "trades", "--out", str(target)).exit_code == 0
    assert target.read_text().startswith(TRADE_HEAD)
    assert os.listdir(target.parent) == ["trades.csv"]
    failed = vb("export", "trades", "NOPE", "--out", str(target))  # fails after the temp file exists
    assert failed.exit_code == 3
    assert target.read_text().startswith(TRADE_HEAD)
    assert os.listdir(target.parent) == ["trades.csv"]
    assert vb("export", "trades", "--out", "-").stdout.startswith(TRADE_HEAD)


def test_crash_mid_export_leaves_the_old_file(db_url, tmp_path):
    vb = make_process_runner(db_url, tmp_path)
    seed(vb)
    target = tmp_path / "trades.csv"
    target.write_text("old\n")
    crashed = vb("export", "trades", "--out", str(target), env={"VB_FAULT": "mid_export"})
    assert crashed.exit_code == -signal.SIGKILL
    assert target.read_text() == "old\n"


def test_interrupted_export_removes_its_temp_file(sqlite_url, tmp_path):
    seed(make_process_runner(sqlite_url, tmp_path))
    target = tmp_path / "exports" / "trades.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    env = {**os.environ, "VB_FAULT": "sleep:mid_export", "VB_FAULT_SECONDS": "30", "VB_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([VB_EXE, "--db", sqlite_url, "export", "trades", "--out", str(target)], env=env,
                            stderr=subprocess.PIPE, text=True)
    assert "sleeping at mid_export" in proc.stderr.readline()
    assert len(os.listdir(target.parent)) == 2  # the temp file exists now
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert target.read_text() == "old\n"
    assert os.listdir(target.parent) == ["trades.csv"]


def test_refuses_symlinks_and_the_ledger(db_url, vb, tmp_path):
    seed(vb)
    real = tmp_path / "real.csv"
    real.write_text("keep\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    refused = vb("export", "trades", "--out", str(link))
    assert refused.exit_code == 4 and "symbolic link" in refused.stderr
    assert real.read_text() == "keep\n" and link.is_symlink()
    if not db_url.startswith("postgresql"):
        before = Path(db_url).read_bytes()
        same = vb("export", "trades", "--out", db_url)
        assert same.exit_code == 4 and "ledger itself" in same.stderr
        assert Path(db_url).read_bytes() == before
    assert vb("export", "trades", "--out", str(tmp_path / "missing" / "x.csv")).exit_code == 3


def _fill_trades(path: str, count: int) -> None:
    """`count` trades straight into the ledger file (an executemany, not vb): test data only."""
    conn = sqlite3.connect(path)
    pos, order = conn.execute("SELECT position_id, order_id FROM trades").fetchone()
    rows = ((f"trd_bulk{i:020d}", order, pos, "AAPL", "buy", "1", "100.25", "0.01", "100.25", "0", "100",
             f"2026-02-01T00:00:{i % 60:02d}.{i % 1000000:06d}Z", "executed", None, "", None, "2026-02-01T00:00:00.000000Z")
            for i in range(count))
    columns = ("id, order_id, position_id, symbol, side, qty, price, commission, notional, realized_pnl, anchor_before, "
               "executed_at, status, key, void_reason, voided_at, created_at")
    conn.executemany(f"INSERT INTO trades ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()


def _peak_rss_kb(argv: list[str], env: dict[str, str]) -> int:
    probe = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); assert done.returncode == 0;"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(subprocess.run([sys.executable, "-c", probe, *argv], env=env, capture_output=True, text=True, check=True).stdout)


def test_large_export_keeps_memory_flat(tmp_path):
    env = {**os.environ, "VB_DATA_DIR": str(tmp_path / "data")}
    peaks = {}
    for count in (20_000, 200_000):
        ledger = str(tmp_path / f"big{count}.sqlite")
        vb = make_process_runner(ledger, tmp_path)
        assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "0", "--cash", "1000").exit_code == 0
        assert vb("trades", "add", "AAPL", "buy", "1", "--price", "100").exit_code == 0
        _fill_trades(ledger, count)
        out = tmp_path / f"big{count}.csv"
        peaks[count] = _peak_rss_kb([VB_EXE, "--db", ledger, "export", "trades", "--out", str(out)], env)
        with open(out) as handle:
            assert sum(1 for _ in handle) == count + 2  # header + the vb trade + the bulk rows
    # Ten times the rows would need hundreds of MB more if rows were held; allow 40 MB of noise.
    assert peaks[200_000] < peaks[20_000] + 40_000, peaks


def test_trades_csv_cells_that_need_rewriting(vb, tmp_path):
    """Rows whose cells are quoted, neutralised or signed mix with plain ones; every line is what
    the generic CSV writer makes of the same trades (the SQLite path joins plain rows in SQL)."""
    from vbcli import render
    from vbcli.services.shared.views import TRADE_FIELDS

    assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    keys = ["-5", "+3.25", "=x", "a,b", 'q"t', "é ✓", "-0", "@a", "'b", "plain"]
    rows = "".join(f'AAPL,{"sell" if i % 2 else "buy"},{i + 1},{100 + i * 7.5},0,2026-01-0{i % 9 + 1}T10:00:0{i % 10}.5Z,'
                   f'"{key.replace(chr(34), chr(34) * 2)}"\n' for i, key in enumerate(keys))
    (tmp_path / "fills.csv").write_text("symbol,side,qty,price,commission,executed_at,key\n" + rows, encoding="utf-8")
    assert vb("import", "trades", str(tmp_path / "fills.csv")).exit_code == 0
    text = vb("export", "trades", "--format", "csv").stdout
    expected = io.StringIO()
    render.render(json.loads(vb("export", "trades", "--format", "json").stdout), "csv", out=expected, columns=list(TRADE_FIELDS))
    assert text == expected.getvalue()
    assert any(row["realized_pnl"].startswith("-") for row in csv.DictReader(io.StringIO(text)))
