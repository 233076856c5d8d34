"""Lots and realized gains through the CLI (SPEC §8.3): cost basis methods, named lots, terms,
`vb lots list`, `vb gains`, the beancount export re-booked by bean-check. Numbers by hand."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timeline_helpers import D, buy, opening, sell, t

from helpers import js, ok, refused, snapshot
from vbcli.domain.lots import METHODS, holding_term
from vbcli.domain.timeline import replay

BEAN_CHECK = Path(sys.executable).parent / "bean-check"
GAIN_HEADER = "sell_trade_id,lot_trade_id,symbol,acquired_at,sold_at,qty,proceeds,cost,gain,term,position_id,currency"


def trade(vb, *args: str) -> str:
    """`vb trades add ARGS --commission 0 --json` → the trade id."""
    return js(vb("trades", "add", *args, "--commission", "0", "--json"))["id"]


def three_lots(vb, method: str, pos: str = "p/X") -> dict[str, str]:
    """Portfolio p (method) with X: cash 100000; A 10@10, B 10@20, C 10@15 → 30 shares costing 450."""
    ok(vb("portfolios", "add", "p", "--cost-basis", method))
    ok(vb("positions", "add", pos.split("/")[1], "--portfolio", "p", "--cash", "100000", "--at", "2025-01-01"))
    return {"A": trade(vb, pos, "buy", "10", "--price", "10", "--at", "2025-02-01"),
            "B": trade(vb, pos, "buy", "10", "--price", "20", "--at", "2025-03-01"),
            "C": trade(vb, pos, "buy", "10", "--price", "15", "--at", "2025-04-01")}


def gain_rows(vb, *args: str) -> list[dict]:
    """The (sell, lot) rows of `vb gains`, without the total rows."""
    return [row for row in js(vb("gains", *args, "--json")) if row["sell_trade_id"] is not None]


def totals(vb, *args: str) -> dict[str, dict]:
    return {row["term"]: row for row in js(vb("gains", *args, "--json")) if row["sell_trade_id"] is None}


def pieces(rows: list[dict], names: dict[str, str]) -> list[tuple]:
    by_id = {v: k for k, v in names.items()}
    return [(by_id.get(r["lot_trade_id"], r["lot_trade_id"]), D(r["qty"]), D(r["proceeds"]), D(r["cost"]), D(r["gain"]))
            for r in rows]


def open_lots(vb, names: dict[str, str], *args: str) -> list[tuple]:
    by_id = {v: k for k, v in names.items()}
    return [(by_id.get(r["lot_trade_id"], r["lot_trade_id"]), D(r["qty"]), D(r["cost"]))
            for r in js(vb("lots", "list", "p/X", *args, "--json"))]


@pytest.mark.parametrize(
    ("method", "want_pieces", "want_open", "realized"),
    [
        # Sell 15 at 25 (proceeds 25 a share). FIFO: A 10 (cost 100) → 250 − 100 = 150; B 5 (100) → 125 − 100 = 25;
        # realized 175; open B 5 (100) and C 10 (150).
        ("fifo", [("A", 10, 250, 100, 150), ("B", 5, 125, 100, 25)], [("B", 5, 100), ("C", 10, 150)], 175),
        # LIFO: C 10 (150) → 100; B 5 (100) → 25; realized 125; open A 10 (100), B 5 (100).
        ("lifo", [("C", 10, 250, 150, 100), ("B", 5, 125, 100, 25)], [("A", 10, 100), ("B", 5, 100)], 125),
        # HIFO: B 10 (cost 20 a share: 200) → 50; C 5 (75) → 50; realized 100; open A 10 (100), C 5 (75).
        ("hifo", [("B", 10, 250, 200, 50), ("C", 5, 125, 75, 50)], [("A", 10, 100), ("C", 5, 75)], 100),
    ],
)
def test_methods_close_lots_partially(vb, method, want_pieces, want_open, realized):
    names = three_lots(vb, method)
    sold = trade(vb, "p/X", "sell", "15", "--price", "25", "--at", "2025-05-01")
    rows = gain_rows(vb, "p/X")
    assert pieces(rows, names) == [(lot, D(q), D(p), D(c), D(g)) for lot, q, p, c, g in want_pieces]
    assert {r["sell_trade_id"] for r in rows} == {sold} and {r["term"] for r in rows} == {"short"}
    assert open_lots(vb, names) == [(lot, D(q), D(c)) for lot, q, c in want_open]
    assert D(js(vb("positions", "show", "p/X", "--json"))["realized_pnl"]) == D(realized)
    # Totals: 15 shares, proceeds 375, cost 375 − realized, all short term.
    assert set(totals(vb, "p/X")) == {"short", "total"}
    assert (D(totals(vb, "p/X")["total"]["gain"]), D(totals(vb, "p/X")["total"]["proceeds"])) == (D(realized), D(375))


def test_specific_lots_then_the_method_for_the_rest(vb):
    names = three_lots(vb, "fifo")
    # --lot C:4 (cost 60; proceeds 100 → 40), then FIFO takes 11: A 10 (100; 250 → 150), B 1 (20; 25 → 5).
    # Realized 40 + 150 + 5 = 195; open B 9 (180) and C 6 (90). Prefixes of the ids work.
    trade(vb, "p/X", "sell", "15", "--price", "25", "--at", "2025-05-01", "--lot", names["C"][:20] + ":4")
    assert pieces(gain_rows(vb, "p/X"), names) == [("C", D(4), D(100), D(60), D(40)), ("A", D(10), D(250), D(100), D(150)),
                                                   ("B", D(1), D(25), D(20), D(5))]
    assert open_lots(vb, names) == [("B", D(9), D(180)), ("C", D(6), D(90))]
    assert D(js(vb("positions", "show", "p/X", "--json"))["realized_pnl"]) == D(195)
    # Changing the method replays the named lot: under LIFO the other 11 are C 6 (90) and B 5 (100):
    # 40 + (150 − 90) + (125 − 100) = 125.
    ok(vb("portfolios", "set", "p", "--cost-basis", "lifo"))
    assert D(js(vb("positions", "show", "p/X", "--json"))["realized_pnl"]) == D(125)


def test_changing_the_method_rederives_realized_pnl(vb):
    names = three_lots(vb, "fifo")
    sold = trade(vb, "p/X", "sell", "15", "--price", "25", "--at", "2025-05-01")
    assert D(js(vb("trades", "show", sold, "--json"))["realized_pnl"]) == D(175)
    changed = js(vb("portfolios", "set", "p", "--cost-basis", "hifo", "--json"))
    assert changed["cost_basis"] == "hifo"
    # HIFO: B 10 (200) and C 5 (75): 375 − 275 = 100, on the trade and the position.
    assert D(js(vb("trades", "show", sold, "--json"))["realized_pnl"]) == D(100)
    assert D(js(vb("positions", "show", "p/X", "--json"))["realized_pnl"]) == D(100)
    assert [lot for lot, *_ in pieces(gain_rows(vb, "p/X"), names)] == ["B", "C"]
    types = [e["type"] for e in js(vb("events", "list", "--limit", "3", "--json"))]
    assert "portfolio_updated" in types and "position_rederived" in types
    # Average: 450/30 = 15 a share, 15 × 15 = 225 removed: 375 − 225 = 150.
    ok(vb("portfolios", "set", "p", "--cost-basis", "average"))
    assert D(js(vb("positions", "show", "p/X", "--json"))["realized_pnl"]) == D(150)
    ok(vb("db", "check"))
    refused(vb("portfolios", "set", "p", "--cost-basis", "fifx"), 2, contains="did you mean fifo?")
    refused(vb("portfolios", "add", "q", "--cost-basis", "lifx"), 2, contains="did you mean lifo?")


def test_a_split_in_the_middle(vb):
    ok(vb("portfolios", "add", "p", "--cost-basis", "fifo"))
    ok(vb("positions", "add", "X", "--portfolio", "p", "--cash", "100000", "--at", "2025-01-01"))
    names = {"A": trade(vb, "p/X", "buy", "10", "--price", "10", "--at", "2025-02-01"),
             "B": trade(vb, "p/X", "buy", "10", "--price", "20", "--at", "2025-03-01")}
    ok(vb("splits", "add", "p/X", "2:1", "--date", "2025-04-01"))
    # After 2:1: A 20 shares at 5 (cost 100), B 20 at 10 (cost 200). Sell 25 at 12:
    # A 20 → 240 − 100 = 140; B 5 (50) → 60 − 50 = 10; realized 150; open B 15 costing 150 (10 a share).
    trade(vb, "p/X", "sell", "25", "--price", "12", "--at", "2025-05-01")
    assert pieces(gain_rows(vb, "p/X"), names) == [("A", D(20), D(240), D(100), D(140)), ("B", D(5), D(60), D(50), D(10))]
    lots = js(vb("lots", "list", "p/X", "--price", "11", "--json"))
    assert [(r["qty"], r["cost"], r["cost_per_share"], r["unrealized_pnl"]) for r in lots] == [("15", "150", "10", "15")]
    # Before the split the lots were 10 and 10: --at a date means its end.
    assert open_lots(vb, names, "--at", "2025-03-31") == [("A", D(10), D(100)), ("B", D(10), D(200))]


def test_a_back_dated_buy_changes_which_lot_a_sell_closed(vb):
    ok(vb("portfolios", "add", "p", "--cost-basis", "fifo"))
    ok(vb("positions", "add", "X", "--portfolio", "p", "--cash", "100000", "--at", "2025-01-01"))
    names = {"A": trade(vb, "p/X", "buy", "10", "--price", "10", "--at", "2025-02-01")}
    trade(vb, "p/X", "sell", "5", "--price", "30", "--at", "2025-06-01")
    assert pieces(gain_rows(vb, "p/X"), names) == [("A", D(5), D(150), D(50), D(100))]  # 150 − 50
    # Typed in late: Z 10 at 5 on 2025-01-15, before A. FIFO now closes Z 5 (cost 25): 150 − 25 = 125.
    names["Z"] = trade(vb, "p/X", "buy", "10", "--price", "5", "--at", "2025-01-15")
    assert pieces(gain_rows(vb, "p/X"), names) == [("Z", D(5), D(150), D(25), D(125))]
    assert D(js(vb("positions", "show", "p/X", "--json"))["realized_pnl"]) == D(125)
    assert open_lots(vb, names) == [("Z", D(5), D(25)), ("A", D(10), D(100))]


def test_holding_period_boundary(vb):
    ok(vb("portfolios", "add", "p", "--cost-basis", "fifo"))
    ok(vb("positions", "add", "X", "--portfolio", "p", "--cash", "100000", "--at", "2025-01-01"))
    trade(vb, "p/X", "buy", "10", "--price", "10", "--at", "2025-03-10T15:00:00Z")
    # Exactly one year later (even later in the day) is short; one year and one day is long.
    first = trade(vb, "p/X", "sell", "1", "--price", "12", "--at", "2026-03-10T20:00:00Z")
    second = trade(vb, "p/X", "sell", "2", "--price", "13", "--at", "2026-03-11T00:00:00Z")
    terms = {r["sell_trade_id"]: r["term"] for r in gain_rows(vb, "p/X")}
    assert terms == {first: "short", second: "long"}
    # Totals per term: short 1 share, gain 12 − 10 = 2; long 2 shares, gain 26 − 20 = 6; total 8.
    got = {term: (D(row["qty"]), D(row["gain"])) for term, row in totals(vb).items()}
    assert got == {"short": (D(1), D(2)), "long": (D(2), D(6)), "total": (D(3), D(8))}
    assert [r["sell_trade_id"] for r in gain_rows(vb, "--year", "2026")] == [first, second]
    assert gain_rows(vb, "--year", "2025") == []
    assert [r["sell_trade_id"] for r in gain_rows(vb, "--since", "2026-03-11", "--until", "2026-03-11")] == [second]
    refused(vb("gains", "--year", "2026", "--since", "2026-01-01"), 2, contains="not both")


def test_holding_term_dates():
    from datetime import UTC, datetime

    bought = datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert holding_term(bought, datetime(2025, 2, 28, 23, tzinfo=UTC)) == "short"  # one year after 29 Feb: 28 Feb
    assert holding_term(bought, datetime(2025, 3, 1, tzinfo=UTC)) == "long"


def test_refused_lots_write_nothing(vb):
    names = three_lots(vb, "fifo")
    ok(vb("positions", "add", "Y", "--portfolio", "p", "--cash", "1000", "--at", "2025-01-01"))
    other = trade(vb, "p/Y", "buy", "10", "--price", "5", "--at", "2025-02-01")
    trade(vb, "p/X", "sell", "15", "--price", "25", "--at", "2025-05-01")  # FIFO: A closed, B 5 left
    placed = js(vb("orders", "place", "p/X", "sell", "6", "--force", "--json"))
    before = snapshot(vb)
    refused(vb("trades", "add", "p/X", "sell", "1", "--price", "25", "--lot", names["A"]), 4, contains="is already closed")
    refused(vb("trades", "add", "p/X", "sell", "1", "--price", "25", "--lot", other), 4, contains="is not a lot of this position")
    refused(vb("trades", "add", "p/X", "sell", "6", "--price", "25", "--lot", f"{names['B']}:6"), 4,
            contains="has 5 shares left, fewer than the 6 named")
    refused(vb("orders", "fill", placed["id"], "--price", "25", "--lot", f"{names['B'][:20]}:6"), 4, contains="5 shares left")
    refused(vb("trades", "add", "p/X", "buy", "1", "--price", "25", "--lot", names["B"]), 2, contains="Only a sell names lots")
    refused(vb("trades", "add", "p/X", "sell", "1", "--price", "25", "--lot", "trd_nosuchtrade"), 3)
    assert snapshot(vb) == before
    # The order can still be filled naming a lot that has the shares: C 6 of 10.
    filled = js(vb("orders", "fill", placed["id"], "--price", "25", "--lot", f"{names['C']}:6", "--json"))
    assert [r["lot_trade_id"] for r in gain_rows(vb, "p/X") if r["sell_trade_id"] == filled["id"]] == [names["C"]]
    # A voided buy opened no lot.
    voided = trade(vb, "p/X", "buy", "2", "--price", "25")
    ok(vb("trades", "void", voided, "--reason", "typo"))
    refused(vb("trades", "add", "p/X", "sell", "1", "--price", "25", "--lot", voided), 4, contains="is voided")


def test_import_reads_a_lots_column(vb):
    names = three_lots(vb, "fifo")
    rows = (f"position,side,qty,price,commission,executed_at,lots\n"
            f"p/X,sell,5,25,0,2025-05-01,{names['C']}:3;{names['B'][:20]}\n")
    ok(vb("import", "trades", "-", input=rows))
    # C 3 (45; 75 → 30), then all of B up to the sell: B 2 (40; 50 → 10).
    assert pieces(gain_rows(vb, "p/X"), names) == [("C", D(3), D(75), D(45), D(30)), ("B", D(2), D(50), D(40), D(10))]
    bad = vb("import", "trades", "-", input=f"position,side,qty,price,executed_at,lots\np/X,sell,1,25,2025-05-02,{names['C']}:9\n")
    assert bad.exit_code == 7 and "<stdin>:2:" in bad.stderr and "has 7 shares left" in bad.stderr


def test_gains_csv_header_and_rows(vb):
    names = three_lots(vb, "fifo")
    sold = trade(vb, "p/X", "sell", "15", "--price", "25", "--at", "2025-05-01")
    pos = js(vb("positions", "show", "p/X", "--json"))["id"]
    text = ok(vb("gains", "--portfolio", "p", "--format", "csv")).stdout
    lines = text.splitlines()
    assert lines[0] == GAIN_HEADER
    assert lines[1:] == [
        f"{sold},{names['A']},X,2025-02-01T00:00:00Z,2025-05-01T00:00:00Z,10,250,100,150,short,{pos},USD",
        f"{sold},{names['B']},X,2025-03-01T00:00:00Z,2025-05-01T00:00:00Z,5,125,100,25,short,{pos},USD",
        ",,,,,15,375,200,175,short,,USD",
        ",,,,,15,375,200,175,total,,USD",
    ]
    empty = ok(vb("gains", "--year", "2020", "--format", "csv")).stdout
    assert empty == GAIN_HEADER + "\n"
    assert list(csv.DictReader(io.StringIO(ok(vb("lots", "list", "p/X", "--format", "csv")).stdout)))[0]["qty"] == "5"


def test_beancount_rebooks_every_sell(vb, tmp_path):
    if not BEAN_CHECK.exists():
        pytest.skip("bean-check is not installed (pip install beancount)")
    for method in ("fifo", "lifo", "hifo"):
        ok(vb("portfolios", "add", method, "--cost-basis", method))
        pos = f"{method}/X"
        ok(vb("positions", "add", "X", "--portfolio", method, "--qty", "5", "--avg-cost", "8", "--cash", "100000", "--at", "2025-01-01"))
        trade(vb, pos, "buy", "10", "--price", "10.333", "--at", "2025-02-01T09:00:00Z")
        b = trade(vb, pos, "buy", "10", "--price", "20", "--at", "2025-02-01T10:00:00Z")  # same day: LIFO needs labels
        js(vb("trades", "add", pos, "buy", "10", "--price", "15", "--commission", "1", "--at", "2025-02-01T11:00:00Z", "--json"))
        js(vb("trades", "add", pos, "sell", "12", "--price", "30.01", "--at", "2025-04-01", "--json"))
        ok(vb("splits", "add", pos, "3:1", "--date", "2025-05-01"))  # 10.333 a share → 3.4443…: not a finite decimal
        if method != "hifo":  # HIFO closed B with the first sell
            trade(vb, pos, "sell", "3", "--price", "16", "--at", "2025-06-01", "--lot", f"{b}:3")
        trade(vb, pos, "sell", "9", "--price", "17", "--at", "2025-07-01")
    journal = tmp_path / "lots.beancount"
    ok(vb("export", "all", "--format", "beancount", "--out", str(journal)))
    text = journal.read_text()
    assert all(f'"{method.upper()}"' in text for method in ("fifo", "lifo", "hifo"))
    assert "{} @ 30.01 USD" in text  # sells booked by the method
    assert '{{103.33 USD, 2025-02-01, "' in text  # LIFO, HIFO keep all of A: 10 × 10.333 = 103.33
    checked = subprocess.run([str(BEAN_CHECK), str(journal)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The check can fail: a gain off by one does not balance.
    from beancount import loader

    wrong = text.replace("Realized-PnL  -", "Realized-PnL  -1", 1)
    assert wrong != text
    assert any("does not balance" in str(e.message) for e in loader.load_string(wrong)[1])


@settings(max_examples=60, deadline=None)
@given(method=st.sampled_from(METHODS),
       steps=st.lists(st.tuples(st.booleans(), st.integers(1, 20), st.integers(1, 400)), min_size=1, max_size=25))
def test_gains_add_up_for_every_method(method, steps):
    facts, bought, bought_cost, held, at = [opening(cash="10000000")], Decimal(0), Decimal(0), Decimal(0), 0
    for index, (is_buy, qty, cents) in enumerate(steps):
        at += 1
        when = t(10, 2 + at // 24, at % 24)
        price = Decimal(cents) / 4
        if is_buy or held < qty:
            facts.append(buy(f"b{index}", qty, price, when))
            bought, bought_cost, held = bought + qty, bought_cost + qty * price, held + qty
        else:
            facts.append(sell(f"s{index}", qty, price, when, commission="0.5"))
            held -= qty
    result = replay(facts, method=method)
    gains = result.gains
    proceeds = sum((p.proceeds for p in gains), Decimal(0))
    cost = sum((p.cost for p in gains), Decimal(0))
    assert sum((p.gain for p in gains), Decimal(0)) == proceeds - cost == result.state.realized_pnl
    # Open lots + closed pieces = every share bought, and every unit of cost paid.
    lots = result.state.book.open_lots()
    open_qty = sum((lot.qty for lot in lots), Decimal(0))
    assert open_qty == held and open_qty + sum((p.qty for p in gains), Decimal(0)) == bought
    assert sum((lot.cost for lot in lots), Decimal(0)) + cost == bought_cost
