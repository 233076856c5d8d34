"""Readable output besides the screens: cell formats, CSV scalars, journal refusals, change messages."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from helpers import js, ok, refused

from vbcli.render import cells


def test_terminal_cells_by_hand() -> None:
    assert cells.money(Decimal("21.0833333333"), "USD") == "21.08"
    assert cells.money(Decimal("1702.8340398"), "EUR", code=True) == "1,702.83 EUR"
    assert cells.money(Decimal("10000"), "JPY", code=True) == "10,000 JPY"  # no minor unit
    assert cells.money(Decimal("-0.001"), "USD") == "0.00"  # never -0.00
    assert cells.price(Decimal("149.5636363636"), "USD") == "149.56"
    assert cells.price(Decimal("0.25"), "USD") == "0.25" and cells.price(Decimal("0.01234"), "USD") == "0.0123"
    assert cells.quantity(Decimal("12.500")) == "12.5" and cells.quantity(Decimal("100")) == "100"
    assert cells.percent(Decimal("0.634555")) == "63.46%" and cells.percent(Decimal("0.0001")) == "0.01%"
    assert cells.percent(Decimal("0.03")) == "3%"
    assert cells.when(datetime(2026, 12, 1, 19, 14, 59, 123456, tzinfo=timezone.utc)) == "2026-12-01 19:14Z"
    assert cells.when("2026-12-01T19:14:00Z") == "2026-12-01 19:14Z"


def test_shortest_unique_id_prefix_is_one_length_of_at_least_eight() -> None:
    ids = ["ord_01jxq0fcz0aaaa", "ord_01jxq0fcy0bbbb", "ord_01jxq1zzzzcccc"]
    # ord_01jxq0fcz / ord_01jxq0fcy share 12 characters → 13 for all.
    assert cells.short_ids(ids) == {i: i[:13] for i in ids}
    assert cells.short_ids(["trd_01ab", "trd_99zz"]) == {"trd_01ab": "trd_01ab", "trd_99zz": "trd_99zz"}
    # An id not shown still counts: the prefix must not find it too.
    assert cells.short_ids(["pos_01jxq0aa11"], known=["pos_01jxq0aa22"]) == {"pos_01jxq0aa11": "pos_01jxq0aa1"}


def test_evaluate_all_place_csv_cells_hold_order_ids(vb, tmp_path) -> None:
    ok(vb("positions", "add", "AAPL", "--qty", "100", "--cash", "10000", "--anchor", "150"))
    prices = tmp_path / "p.csv"
    prices.write_text("symbol,price\nAAPL,140\n")
    csv_text = ok(vb("evaluate", "--all", "--prices", str(prices), "--place", "--format", "csv")).stdout
    header, row = csv_text.splitlines()[:2]
    assert "order_id" in header.split(",") and "order" not in header.split(",")
    order_id = row.split(",")[header.split(",").index("order_id")]
    assert order_id.startswith("ord_") and "{" not in csv_text
    assert js(vb("orders", "show", order_id, "--json"))["status"] == "open"


def test_a_journal_of_orders_is_refused(vb) -> None:
    ok(vb("positions", "add", "AAPL", "--qty", "1", "--cash", "100", "--anchor", "100"))  # a ledger to read
    for kind in ("orders", "events", "positions"):
        refused(vb("export", kind, "--format", "ledger"), 2, contains="journal holds trades")
        refused(vb("export", kind, "--format", "beancount"), 2, contains="journal holds trades")
    assert ok(vb("export", "trades", "--format", "ledger")).stdout.startswith("; vb journal")


def test_a_change_event_says_old_and_new(vb) -> None:
    ok(vb("positions", "add", "KO", "--qty", "10", "--cash", "1000", "--anchor", "60"))
    ok(vb("positions", "set", "KO", "--trigger-up", "5%", "--max-alloc", "70%"))
    event = js(vb("events", "list", "--type", "position_updated", "--json"))[0]
    assert event["message"] == "KO changed: trigger_up 0.03 → 0.05, max_stock_alloc 0.75 → 0.7"
