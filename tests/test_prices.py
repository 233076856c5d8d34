"""`vb prices` (SPEC §8.4): add, import, list; stored prices in positions and evaluate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from helpers import js, ok, refused


def _ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prices(vb, *args: str) -> list[dict]:
    return js(vb("prices", "list", *args, "--json"))


def test_add_is_idempotent_and_another_price_needs_replace(vb):
    added = js(vb("prices", "add", "aapl", "152.30", "--at", "2026-11-27", "--json"))
    assert (added["symbol"], added["time"], added["price"], added["status"]) == ("AAPL", "2026-11-27T00:00:00Z", "152.30", "added")
    again = js(vb("prices", "add", "AAPL", "152.3", "--at", "2026-11-27", "--json"))  # the same number
    assert again["status"] == "unchanged" and again["price"] == "152.30"
    refused(vb("prices", "add", "AAPL", "153", "--at", "2026-11-27"), 4, contains="--replace")
    replaced = js(vb("prices", "add", "AAPL", "153", "--at", "2026-11-27", "--replace", "--json"))
    assert (replaced["price"], replaced["status"]) == ("153", "replaced")
    assert [(p["symbol"], p["price"]) for p in _prices(vb)] == [("AAPL", "153")]
    events = [e["type"] for e in js(vb("events", "list", "--json"))]
    assert sorted(events) == ["price_added", "price_replaced"]  # nothing for the unchanged one
    refused(vb("prices", "add", "AAPL", "-1"), 2)
    refused(vb("prices", "add", "AAPL", "0"), 2)


def test_import_csv_stdin_and_one_symbol_files(vb, tmp_path):
    first = js(vb("prices", "import", "-", "--json", input="symbol,date,close\nAAPL,2026-11-26,150\nMSFT,2026-11-26,400.5\n"
                                                          "AAPL,2026-11-27T21:00:00Z,151.25\n"))
    assert {k: first[k] for k in ("rows", "added", "unchanged", "replaced", "symbols")} == {
        "rows": 3, "added": 3, "unchanged": 0, "replaced": 0, "symbols": 2}
    one = tmp_path / "aapl.csv"
    one.write_text("\ufeffDate,Price\n2026-11-26,150.00\n2026-11-28,149\n\n")  # BOM, upper-case header, blank line
    second = js(vb("prices", "import", str(one), "--symbol", "aapl", "--json"))
    # 150.00 equals the stored 150: unchanged; 149 is new
    assert (second["rows"], second["added"], second["unchanged"]) == (2, 1, 1)
    listed = _prices(vb, "AAPL")
    assert [(p["time"], p["price"], p["source"]) for p in listed] == [
        ("2026-11-28T00:00:00Z", "149", "import"), ("2026-11-27T21:00:00Z", "151.25", "import"), ("2026-11-26T00:00:00Z", "150", "import")]
    assert [p["price"] for p in _prices(vb, "--since", "2026-11-27", "--until", "2026-11-27")] == ["151.25"]
    assert len(_prices(vb, "--limit", "2")) == 2
    plain = ok(vb("prices", "list", "NONE", "--format", "csv")).stdout
    assert plain == "symbol,time,price,source,created_at\n"


def test_a_bad_file_is_reported_by_line_and_nothing_is_written(vb, ledger, tmp_path):  # an existing ledger: no creation notice
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date,price\nAAPL,2026-11-26,150\nAAPL,2026-13-01,1\n,2026-11-26,5\nMSFT,2026-11-26,abc\nMSFT,2026-11-27,0\n"
                   "MSFT,2026-11-28,1.1234567890123\nMSFT,2026-11-29,1.123456789012\nMSFT,2026-11-30\nMSFT,2026-12-01,1000000000000000\n")
    done = vb("prices", "import", str(bad))
    assert done.exit_code == 7 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{bad}:3: date '2026-13-01' is not a date (2026-11-26), a date-time with offset (2026-11-26T14:30:00Z), now, today or yesterday",
        f"{bad}:4: symbol is missing",
        f"{bad}:5: price 'abc' is not a positive decimal number such as 152.3",
        f"{bad}:6: price must be greater than zero",
        f"{bad}:7: price '1.1234567890123' has more than 12 decimal places",  # line 8 has exactly 12: good
        f"{bad}:9: price is missing",
        f"{bad}:10: price '1000000000000000' is too large",
        f"vb: {bad} has 7 problems; nothing was imported.",
    ]
    assert _prices(vb) == []
    no_column = vb("prices", "import", "-", input="symbol,price\nAAPL,1\n")
    assert no_column.exit_code == 7 and "<stdin>:1: missing column 'date'" in no_column.stderr
    assert vb("prices", "import", str(tmp_path / "none.csv")).exit_code == 3


def test_conflicting_rows_are_exit_4_unless_replace(vb):
    ok(vb("prices", "add", "AAPL", "150", "--at", "2026-11-26"))
    text = "symbol,date,price\nAAPL,2026-11-26,151\nAAPL,2026-11-27,152\nAAPL,2026-11-27,153\n"
    done = vb("prices", "import", "-", input=text)
    assert done.exit_code == 4
    assert done.stderr.splitlines() == [
        "<stdin>:4: AAPL at 2026-11-27T00:00:00Z repeats line 3 with another price (153, not 152)",
        "<stdin>:2: AAPL already has the price 150 at 2026-11-26T00:00:00Z; this row says 151 (give --replace to store it)",
        "vb: <stdin> has 2 conflicts; nothing was imported.",
    ]
    assert [p["price"] for p in _prices(vb)] == ["150"]
    replaced = js(vb("prices", "import", "-", "--replace", "--json", input="symbol,date,price\nAAPL,2026-11-26,151\nAAPL,2026-11-27,152\n"))
    assert (replaced["added"], replaced["replaced"]) == (1, 1)
    assert [p["price"] for p in _prices(vb)] == ["152", "151"]
    dry = js(vb("prices", "import", "-", "--dry-run", "--json", input="symbol,date,price\nAAPL,2026-11-28,160\n"))
    assert dry["added"] == 1 and dry["dry_run"] is True and len(_prices(vb)) == 2


def test_positions_use_the_latest_stored_price_or_fill(vb):
    ok(vb("positions", "add", "AAPL", "--qty", "100", "--cash", "10000", "--anchor", "150"))
    assert "price" not in js(vb("positions", "show", "AAPL", "--json"))  # nothing observed yet
    assert js(vb("positions", "list", "--json"))[0]["price"] is None
    ok(vb("prices", "add", "AAPL", "160", "--at", _ago(2)))
    shown = js(vb("positions", "show", "AAPL", "--json"))
    # 100·160 = 16 000 in stock, 26 000 in all; unrealized (160 − 150)·100 = 1 000
    assert (shown["price"], shown["price_source"], shown["total_value"], shown["unrealized_pnl"]) == ("160", "stored", "26000", "1000")
    fill = js(vb("trades", "add", "AAPL", "buy", "1", "--price", "155", "--commission", "0", "--json"))
    listed = js(vb("positions", "list", "--json"))[0]
    assert (listed["price"], listed["price_source"], listed["price_at"]) == ("155", "fill", fill["executed_at"])
    assert js(vb("positions", "show", "AAPL", "--price", "170", "--json"))["price"] == "170"  # --price still wins


def test_evaluate_without_a_price_uses_the_stored_one(vb):
    ok(vb("positions", "add", "AAPL", "--qty", "100", "--cash", "10000", "--anchor", "150"))
    refused(vb("evaluate", "AAPL"), 2, contains="vb prices add AAPL")
    at = _ago(1)
    ok(vb("prices", "add", "AAPL", "140", "--at", at))
    row = js(vb("evaluate", "AAPL", "--json"))
    # 140 is 6.67% below the anchor 150: BUY, at the stored price
    assert (row["action"], row["price"], row["price_at"], row["price_source"]) == ("BUY", "140", at, "stored")
    held = js(vb("evaluate", "AAPL", "--max-age", "12h", "--json"))
    assert (held["action"], held["reason"], held["price"]) == ("HOLD", "stale price", "140")
    placed = js(vb("evaluate", "AAPL", "--place", "--max-age", "12h", "--json"))
    assert placed["order"] is None and js(vb("orders", "list", "--json")) == []
    refused(vb("evaluate", "AAPL", "--max-age", "soon"), 2, contains="duration")


def test_evaluate_all_with_stored_prices_holds_stale_ones(vb):
    for symbol in ("AAPL", "MSFT", "NVDA"):
        ok(vb("positions", "add", symbol, "--qty", "100", "--cash", "10000", "--anchor", "150"))
    ok(vb("prices", "add", "AAPL", "140", "--at", _ago(1)))
    ok(vb("prices", "add", "MSFT", "140", "--at", _ago(5)))  # older than the default 4 days
    rows = {r["symbol"]: r for r in js(vb("evaluate", "--all", "--json"))}
    assert (rows["AAPL"]["action"], rows["AAPL"]["price_source"]) == ("BUY", "stored")
    assert (rows["MSFT"]["action"], rows["MSFT"]["reason"]) == ("HOLD", "stale price")
    assert (rows["NVDA"]["action"], rows["NVDA"]["reason"], rows["NVDA"]["price_at"]) == ("HOLD", "no price", None)
    wider = {r["symbol"]: r["action"] for r in js(vb("evaluate", "--all", "--max-age", "6d", "--json"))}
    assert wider == {"AAPL": "BUY", "MSFT": "BUY", "NVDA": "HOLD"}
    placed = js(vb("evaluate", "--all", "--place", "--json"))
    assert [r["symbol"] for r in placed if r["order"]] == ["AAPL"]  # the stale and unpriced ones place nothing


def test_export_all_carries_the_prices(vb, tmp_path):
    ok(vb("prices", "add", "AAPL", "150", "--at", "2026-11-26"))
    out = tmp_path / "all.json"
    ok(vb("export", "all", "--format", "json", "--out", str(out)))
    import json

    document = json.loads(out.read_text())
    assert [(p["symbol"], p["at"], p["price"]) for p in document["prices"]] == [("AAPL", "2026-11-26T00:00:00Z", "150")]
