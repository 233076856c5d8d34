"""`vb import trades` and `vb import all`: all-or-nothing, idempotent keys, exact round trips."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import make_cli_runner

HEADER = "symbol,side,qty,price,commission,executed_at,key\n"


def position(vb, symbol: str = "AAPL") -> dict:
    return json.loads(vb("positions", "show", symbol, "--json").stdout)


def counts(vb) -> tuple[int, int, int]:
    trades = json.loads(vb("export", "trades", "--format", "json").stdout)
    orders = json.loads(vb("export", "orders", "--format", "json").stdout)
    events = json.loads(vb("export", "events", "--format", "json").stdout)
    return len(trades), len(orders), len(events)


@pytest.fixture
def opened(vb):
    assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    assert vb("positions", "add", "MSFT", "--at", "2020-01-01", "--qty", "0", "--cash", "5000").exit_code == 0
    return vb


def test_import_csv_twice_equals_once(opened, tmp_path):
    vb = opened
    path = tmp_path / "fills.csv"
    # Columns in any order; position by symbol, by id and by PORTFOLIO/SYMBOL.
    aapl_id = position(vb)["id"]
    path.write_text("key,price,qty,side,position,commission,executed_at\n"
                    f"f1,145.5,10,buy,AAPL,1,2026-01-05T15:00:00Z\n"
                    f"f2,160.25,4,sell,{aapl_id},,2026-01-06T15:00:00Z\n"
                    f"f3,390,2,buy,default/MSFT,0.5,\n")
    first = vb("import", "trades", str(path))
    assert first.exit_code == 0, first.stderr
    assert "\t3\t3\t0\t" in first.stdout  # rows, imported, skipped
    after_once = (position(vb), position(vb, "MSFT"), counts(vb))
    second = vb("import", "trades", str(path))
    assert second.exit_code == 0, second.stderr
    assert "\t3\t0\t3\t" in second.stdout
    assert (position(vb), position(vb, "MSFT"), counts(vb)) == after_once
    aapl = after_once[0]
    # 100 + 10 − 4 = 106 shares; cash 10000 − 1455 − 1 + 641 − 0.06 (default 0.01% of 641, to the cent) = 9184.94.
    assert (aapl["qty"], aapl["cash"], aapl["anchor"], aapl["total_commission"]) == ("106", "9184.94", "160.25", "1.06")
    # MSFT: 5000 − 780 − 0.5 = 4219.50 (cash in cents).
    assert position(vb, "MSFT")["cash"] == "4219.50"
    trades = json.loads(vb("export", "trades", "--format", "json").stdout)
    assert [t["key"] for t in trades][:2] == ["f1", "f2"] and trades[0]["executed_at"] == "2026-01-05T15:00:00Z"
    assert vb("db", "check").exit_code == 0


def test_bad_rows_are_all_reported_and_nothing_is_written(opened, tmp_path):
    vb = opened
    before = (position(vb), counts(vb))
    path = tmp_path / "bad.csv"
    path.write_text(HEADER
                    + "AAPL,buy,1,100,,,\n"          # line 2: fine
                    + "AAPL,hold,1,100,,,\n"         # line 3: bad side
                    + "MSFT,sell,1,100,,,\n"         # line 4: no shares
                    + "NOPE,buy,1,100,,,\n"          # line 5: unknown position
                    + "AAPL,buy,-1,1e3,,,\n"         # line 6: bad qty
                    + "AAPL,buy,1,100,,someday,\n")  # line 7: bad time
    result = vb("import", "trades", str(path))
    assert result.exit_code == 7
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert [line.split(":")[1] for line in lines] == ["3", "4", "5", "6", "7"]
    assert "Not enough shares" in lines[1]
    assert (position(vb), counts(vb)) == before


def test_key_reused_for_another_fill_is_a_conflict(opened, tmp_path):
    vb = opened
    assert vb("trades", "add", "AAPL", "buy", "1", "--price", "100", "--key", "k1").exit_code == 0
    before = counts(vb)
    path = tmp_path / "k.csv"
    path.write_text(HEADER + "AAPL,buy,2,100,,,new\nAAPL,buy,1,101,,,k1\n")
    result = vb("import", "trades", str(path))
    assert result.exit_code == 4
    assert f"{path}:3: key 'k1'" in result.stderr
    assert counts(vb) == before
    # The same fill under the key is skipped, not refused.
    path.write_text(HEADER + "AAPL,buy,1,100,,,k1\n")
    assert vb("import", "trades", str(path)).exit_code == 0
    assert counts(vb) == before
    # A key taken by an import cannot be replayed by another command.
    assert vb("import", "trades", "-", input=HEADER + "AAPL,buy,1,100,,,k2\n").exit_code == 0
    assert vb("trades", "add", "AAPL", "buy", "1", "--price", "100", "--key", "k2").exit_code == 4


def test_stdin_json_ndjson_and_dry_run(opened, tmp_path):
    vb = opened
    bad = vb("import", "trades", "-", input=HEADER + "AAPL,buy,1,100,,,\nAAPL,buy,x,100,,,\n")
    assert bad.exit_code == 7 and "<stdin>:3: qty" in bad.stderr
    rows = [{"symbol": "AAPL", "side": "buy", "qty": 1.5, "price": "100.1"}, {"position": "MSFT", "side": "buy", "qty": "1", "price": 10}]
    (tmp_path / "f.json").write_text(json.dumps(rows, indent=2))
    (tmp_path / "f.ndjson").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    before = counts(vb)
    dry = vb("import", "trades", str(tmp_path / "f.json"), "--dry-run")
    assert dry.exit_code == 0 and "nothing was written" in dry.stderr
    assert counts(vb) == before
    assert vb("import", "trades", str(tmp_path / "f.json")).exit_code == 0
    assert vb("import", "trades", str(tmp_path / "f.ndjson")).exit_code == 0
    assert Decimal(position(vb)["qty"]) == Decimal("103")  # 100 + 1.5 + 1.5, exact
    broken = [{"symbol": "AAPL", "side": "buy", "qty": "1", "price": "1"}, {"symbol": "AAPL", "side": "up", "qty": "1", "price": "1"}]
    (tmp_path / "b.json").write_text(json.dumps(broken, indent=2))
    result = vb("import", "trades", str(tmp_path / "b.json"))
    assert result.exit_code == 7 and f"{tmp_path / 'b.json'}:8: side" in result.stderr  # the object opens on line 8
    assert vb("import", "trades", str(tmp_path / "missing.csv")).exit_code == 3


def _seed_everything(vb) -> None:
    for step in [
        ("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000.50", "--anchor", "150.10"),
        ("portfolios", "add", "Other", "--currency", "EUR"),
        ("positions", "add", "SAP", "--at", "2020-01-01", "--qty", "0", "--cash", "0.1", "--portfolio", "Other", "--trigger", "5%"),
        ("positions", "deposit", "Other/SAP", "0.2"),
        ("trades", "add", "AAPL", "buy", "0.000001", "--price", "145.123456", "--key", "kk"),
        ("orders", "place", "AAPL", "sell", "3", "--limit", "160"),
        ("dividends", "add", "AAPL", "--per-share", "0.25", "--ex-date", "2026-01-10", "--pay-date", "2026-01-20"),
        ("dividends", "process"),
    ]:
        result = vb(*step)
        assert result.exit_code == 0, (step, result.stderr)
    sell = json.loads(vb("orders", "list", "--json").stdout)[0]["id"]
    assert vb("orders", "fill", sell, "--price", "160.5", "--qty", "1").exit_code == 0
    trade = json.loads(vb("trades", "list", "--json").stdout)[0]["id"]
    assert vb("trades", "void", trade, "--reason", "duplicate").exit_code == 0


def _round_trip(source_url: str, target_url: str, tmp_path: Path) -> None:
    source, target = make_cli_runner(source_url), make_cli_runner(target_url)
    _seed_everything(source)
    dump = tmp_path / "all.json"
    assert source("export", "all", "--format", "json", "--out", str(dump)).exit_code == 0
    loaded = target("import", "all", str(dump))
    assert loaded.exit_code == 0, loaded.stderr
    assert target("export", "all", "--format", "json").stdout == dump.read_text()
    assert target("db", "check").exit_code == 0
    again = target("import", "all", str(dump))
    assert again.exit_code == 4 and "empty ledger" in again.stderr
    # The copy goes on working: the chain continues.
    assert target("positions", "deposit", "AAPL", "1").exit_code == 0
    assert target("db", "check").exit_code == 0


def test_round_trip_same_engine(db_url, tmp_path):
    other = str(tmp_path / "target.sqlite") if not db_url.startswith("postgresql") else None
    if other is None:
        from conftest import drop_pg_schema, new_pg_schema

        name, other = new_pg_schema()
        try:
            _round_trip(db_url, other, tmp_path)
        finally:
            drop_pg_schema(name)
    else:
        _round_trip(db_url, other, tmp_path)


def test_round_trip_sqlite_to_postgresql(sqlite_url, pg_url, tmp_path):
    _round_trip(sqlite_url, pg_url, tmp_path)


def test_import_all_refuses_damaged_chains(sqlite_url, tmp_path):
    source = make_cli_runner(sqlite_url)
    assert source("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "1", "--cash", "1", "--anchor", "1").exit_code == 0
    doc = json.loads(source("export", "all", "--format", "json").stdout)
    doc["events"][0]["message"] = "edited"
    (tmp_path / "x.json").write_text(json.dumps(doc))
    target = make_cli_runner(str(tmp_path / "t.sqlite"))
    result = target("import", "all", str(tmp_path / "x.json"))
    assert result.exit_code == 7 and "altered" in result.stderr
    assert json.loads(target("export", "all", "--format", "json").stdout)["positions"] == []


def test_imported_rows_and_events_are_those_of_the_builders(opened, tmp_path):
    """The bulk writer builds rows in storage form; they are what services/shared/builders make."""
    from vbcli.domain.jsonvalue import json_value
    from vbcli.services.shared import builders
    from vbcli.services.shared.audit import dumps
    from vbcli.services.shared.idempotency import request_hash
    from vbcli.services.shared.views import TRADE_FIELDS

    vb = opened
    path = tmp_path / "fills.csv"
    path.write_text(HEADER + 'AAPL,buy,10,145.50,,2026-01-05T15:00:00.250Z,"ké""y\\1 ✓"\n'
                    "AAPL,sell,4,160.25,1,2026-01-06T15:00:00Z,=k2\n"
                    "MSFT,buy,2,390,0.5,2026-01-02T10:00:00Z,\n", encoding="utf-8")
    assert vb("import", "trades", str(path)).exit_code == 0
    ledger = json.loads(vb("export", "all", "--format", "json").stdout)
    events = {(e["trade_id"] or e["order_id"], e["type"]): e for e in ledger["events"]}
    keys = {k["key"]: k for k in ledger["idempotency_keys"]}
    symbols = {p["id"]: p["symbol"] for p in ledger["positions"]}
    assert len(ledger["trades"]) == 3 and set(keys) == {'ké"y\\1 ✓', "=k2"}
    for trade in ledger["trades"]:
        shown = {name: trade[name] for name in TRADE_FIELDS}
        typed = {**shown, **{name: Decimal(shown[name]) for name in ("qty", "price", "commission", "anchor_before") if shown[name]}}
        symbol, filled = symbols[trade["position_id"]], events[(trade["id"], "order_filled")]
        after = json.loads(filled["data"])
        placed = builders.order_placed(symbol=symbol, position_id=trade["position_id"], order_id=trade["order_id"], side=trade["side"],
                                       qty=Decimal(trade["qty"]), limit=None, source="import")
        specs = [placed, *builders.fill_events(symbol=symbol, trade=typed, qty_after=Decimal(after["qty_after"]),
                                               cash_after=Decimal(after["cash_after"]))]
        for spec in specs:
            stored = events[(trade["id"] if spec["type"] != "order_placed" else trade["order_id"], spec["type"])]
            assert (stored["message"], stored["data"]) == (spec["message"], dumps(spec["data"]))
        if trade["key"]:
            key = keys[trade["key"]]
            assert key["result"] == json.dumps(json_value(shown), ensure_ascii=False)
            assert key["request_hash"] == request_hash("import.trades", json_value(shown))
    assert vb("db", "check").exit_code == 0


def test_a_back_dated_import_continues_the_event_chain(opened, tmp_path):
    """Each position's position_rederived event and the fills' events share one hash chain."""
    vb = opened
    later, earlier = tmp_path / "later.csv", tmp_path / "earlier.csv"
    later.write_text(HEADER + "AAPL,buy,1,150,0,2026-01-10T00:00:00Z,\nMSFT,buy,1,390,0,2026-01-10T00:00:00Z,\n")
    earlier.write_text(HEADER + "AAPL,buy,2,140,0,2026-01-05T00:00:00Z,\nMSFT,buy,1,380,0,2026-01-05T00:00:00Z,\n")
    assert vb("import", "trades", str(later)).exit_code == 0
    result = vb("import", "trades", str(earlier))
    assert result.exit_code == 0, result.stderr
    types = [event["type"] for event in json.loads(vb("export", "events", "--format", "json").stdout)]
    assert types.count("position_rederived") == 2 and types.count("order_filled") == 4
    assert vb("db", "check").exit_code == 0
