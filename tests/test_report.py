"""`vb report` (SPEC §8.5) through the CLI, by hand and against `hledger roi` on vb's own export.

The position of the hand tests is tests/test_performance.py's, built with real commands (USD,
stock ABC, withholding 15%, 2023). Deposits and the opening take their record time; until
`--at` exists on them the clock of the positions service is set for those commands.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import js, ok

from vbcli.domain.facts import Fill, Opening
from vbcli.domain.performance import Period, twr
from vbcli.domain.valuation import walk

HLEDGER = shutil.which("hledger")
UTC = timezone.utc


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2023, month, day, hour, tzinfo=UTC)


def q(value: D) -> D:
    return value.quantize(D("1e-10"))


def _clock(monkeypatch, when: datetime) -> None:
    monkeypatch.setattr("vbcli.services.ledger.positions.utcnow", lambda: when)


@pytest.fixture
def abc(vb, monkeypatch):
    """  01-01 00:00 open with no cash, deposit 10000     cash 10000            value 10000
         01-01 10:00 buy 50 @ 100, commission 0        50 sh, cash 5000      value 10000
         04-01       price 110                                                value 10500
         06-30       price 120                                                value 11000
         07-01 00:00 deposit 5000                      cash 10000            value 16000
         07-01 10:00 buy 25 @ 120, commission 5        75 sh, cash 6995      value 15995
         09-15       dividend 1.00/sh: 75 gross, 11.25 tax, 63.75 net         value 16058.75
         09-30       price 100                                                value 14558.75
         10-01 00:00 withdraw 3000                     cash 3995             value 11558.75
         11-01 10:00 sell 20 @ 105, commission 5       55 sh, cash 6085      value 11928.75
         12-31       price 110                                                value 12203.75"""
    _clock(monkeypatch, at(1, 1))
    pos = js(vb("positions", "add", "ABC", "--cash", "0", "--json"))
    ok(vb("positions", "deposit", "ABC", "10000"))
    ok(vb("trades", "add", "ABC", "buy", "50", "--price", "100", "--commission", "0", "--at", "2023-01-01T10:00:00Z"))
    _clock(monkeypatch, at(7, 1))
    ok(vb("positions", "deposit", "ABC", "5000"))
    ok(vb("trades", "add", "ABC", "buy", "25", "--price", "120", "--commission", "5", "--at", "2023-07-01T10:00:00Z"))
    ok(vb("dividends", "add", "ABC", "--per-share", "1", "--ex-date", "2023-09-15", "--withholding", "15%"))
    ok(vb("dividends", "process"))  # applies the past ex-date (the payment has no date: it stays receivable)
    _clock(monkeypatch, at(10, 1))
    ok(vb("positions", "withdraw", "ABC", "3000"))
    sell = js(vb("trades", "add", "ABC", "sell", "20", "--price", "105", "--commission", "5", "--at", "2023-11-01T10:00:00Z", "--json"))
    for day, price in (("2023-01-01", "100"), ("2023-04-01", "110"), ("2023-06-30", "120"), ("2023-09-30", "100"), ("2023-12-31", "110")):
        ok(vb("prices", "add", "ABC", price, "--at", day))
    monkeypatch.undo()
    return pos, sell


def _report(vb, *args: str) -> list[dict]:
    return js(vb("report", *args, "--json"))


def test_the_year_by_hand(vb, abc):
    pos, _ = abc
    row, total = _report(vb, "ABC", "--since", "2023-01-01", "--until", "2023-12-31")
    assert (row["position_id"], total["position_id"], total["portfolio"]) == (pos["id"], None, "default")
    assert (row["since"], row["until"]) == ("2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
    # nothing before the opening; 12203.75 − 0 − 15000 + 3000 = 203.75
    assert (row["start_value"], row["end_value"], row["contributions"], row["withdrawals"], row["pnl"]) == (
        "0", "12203.75", "15000", "3000", "203.75")
    # TWR: 10000 → 11000 (×1.1), 16000 → 14558.75, 11558.75 → 12203.75, linked at the two flows
    assert D(row["twr"]) == q(D("1.1") * D("14558.75") / D("16000") * D("12203.75") / D("11558.75") - 1) == D("0.0567669506")
    assert row["twr_annualized"] == row["twr"]  # 365 days
    # IRR: 10000·x + 5000·x^(184/365) − 3000·x^(92/365) − 12203.75 = 0 → x = 1.0173278932605 (test_performance)
    assert row["irr"] == "0.0173278933"
    # dividends net 63.75; commissions 5 + 5; one sell's realized P&L; 3 fills
    assert (row["dividends"], row["commission"], row["trades"]) == ("63.75", "10", 3)
    # drawdown of the growth index: peak 1.1·16058.75/16000 = 1.1040390625 (09-15), trough 1.1·14558.75/16000 (09-30)
    assert D(row["max_drawdown"]) == q(D("0.103125") / D("1.1040390625"))
    # opened inside the period with no shares: holding is the cash of the flows, 15000 − 3000
    assert (row["hold_value"], row["excess"]) == ("12000", "203.75")
    assert (row["price_at"], row["notes"]) == ("2023-12-31T00:00:00Z", None)
    assert {total[k] for k in ("end_value", "twr", "irr")} != {None} and total["irr"] == row["irr"]


def test_a_period_starting_mid_history_with_hold_and_excess_by_hand(vb, abc):
    _, sell = abc
    row = _report(vb, "ABC", "--since", "2023-07-01", "--until", "2023-11-30")[0]
    # start = end of 06-30: 50·120 + 5000 = 11000; end = end of 11-30: 55·105 + 6153.75 = 11928.75
    assert (row["start_value"], row["end_value"], row["pnl"]) == ("11000", "11928.75", "-1071.25")
    # 14558.75/16000 × 11928.75/11558.75 − 1
    assert D(row["twr"]) == q(D("14558.75") / D("16000") * D("11928.75") / D("11558.75") - 1) == D("-0.0609511784")
    assert row["irr"] == "-0.1643421426"  # 16000·x^(153/365) − 3000·x^(61/365) − 11928.75 = 0
    # hold: the start's 50 sh at the end price 105 + 5000 cash + their dividend (50 gross − 7.50 tax)
    # + the flows kept as cash (5000 − 3000) = 5250 + 5000 + 42.50 + 2000 = 12292.50
    assert (D(row["hold_value"]), D(row["excess"])) == (D("12292.50"), D("-363.75"))
    assert row["stock_return"] == "-0.125"  # 105 / 120 − 1
    assert (row["commission"], row["trades"], row["realized_pnl"]) == ("10", 2, sell["realized_pnl"])
    # unrealized at the end: 55·105 − the basis left, 8000 − (2100 − 5 − realized)
    realized = D(sell["realized_pnl"])
    assert D(row["unrealized_pnl"]) == 55 * 105 - (8000 - (2100 - 5 - realized))
    # turnover: traded 25·120 + 20·105 = 5100 over the mean value; 153 days all priced?
    assert D(row["turnover"]) > 0 and D(row["in_guardrails"]) <= 1


def _hledger_irr(path, begin: str, end: str) -> D:
    cmd = [HLEDGER, "-f", str(path), "roi", "--inv", "assets:vb:default:abc", "--pnl", "income:vb|expenses:vb",
           "-b", begin, "-e", end, "--value=then,USD"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"\|\|\s*(-?[0-9.]+)%\s*\|\s*-?[0-9.]+%\s*\|", out)
    assert match, out
    return D(match.group(1))


@pytest.mark.parametrize("since, until, end", [("2023-01-01", "2023-12-31", "2024-01-01"), ("2023-07-01", "2023-11-30", "2023-12-01")])
def test_irr_agrees_with_hledger_roi_on_vbs_own_export(vb, abc, tmp_path, since, until, end):
    if HLEDGER is None:
        pytest.skip("hledger is not installed (apt-get install hledger)")
    journal = tmp_path / "abc.journal"
    ok(vb("export", "trades", "ABC", "--format", "ledger", "--out", str(journal)))
    text = journal.read_text()
    assert "P 2023-12-31 ABC 110 USD" in text and "commodity ABC" in text and "account Assets:VB:Default:ABC:Cash" in text
    subprocess.run([HLEDGER, "-f", str(journal), "check", "-s"], capture_output=True, text=True, check=True)
    ours = (D(_report(vb, "ABC", "--since", since, "--until", until)[0]["irr"]) * 100).quantize(D("0.01"))
    # hledger's -e is exclusive, as the report's end is; it prints the IRR in percent to 2 places.
    assert _hledger_irr(journal, since, end) == ours


def test_a_position_without_any_price_gives_nulls_with_a_note(vb):
    ok(vb("positions", "add", "XYZ", "--qty", "10", "--cash", "100", "--anchor", "5"))
    row, total = _report(vb)
    for name in ("end_value", "pnl", "twr", "irr", "hold_value", "excess", "unrealized_pnl", "stock_return"):
        assert row[name] is None, name
    assert "no price of XYZ" in row["notes"] and row["price_at"] is None
    assert total["end_value"] is None and "no price of XYZ" in total["notes"]
    # a price makes them appear: 10·6 + 100 = 160
    ok(vb("prices", "add", "XYZ", "6"))
    assert _report(vb, "XYZ")[0]["end_value"] == "160"


def test_every_format_and_the_plot(vb, abc):
    plain = ok(vb("report", "--since", "2023-01-01", "--until", "2023-12-31", "--format", "csv")).stdout.splitlines()
    assert plain[0].startswith("position_id,portfolio,symbol,currency,since,until,start_value,end_value,contributions")
    assert len(plain) == 3
    plotted = ok(vb("report", "ABC", "--since", "2023-01-01", "--until", "2023-12-31", "--plot", "--format", "plain")).stdout
    assert "value against hold value" in plotted and "\x1b[" not in plotted
    assert vb("report", "--since", "2023-12-31", "--until", "2023-01-01").exit_code == 2
    assert vb("report", "NOPE").exit_code == 3


def test_a_back_dated_opening_starts_the_position_when_it_happened(vb):
    """Opened today with --at 2023-01-02: the report counts from 2023-01-02, not from today."""
    ok(vb("positions", "add", "XYZ", "--qty", "10", "--cash", "1000", "--anchor", "100", "--at", "2023-01-02"))
    ok(vb("prices", "add", "XYZ", "100", "--at", "2023-01-02"))
    ok(vb("prices", "add", "XYZ", "110", "--at", "2023-12-29"))
    row = _report(vb, "XYZ", "--since", "2023-01-01", "--until", "2023-12-31")[0]
    # the opening is the contribution: 1000 cash + 10 sh at 100; the stock went 100 → 110
    assert (row["start_value"], row["contributions"], row["end_value"], row["pnl"]) == ("0", "2000", "2100", "100")
    assert (row["twr"], row["stock_return"], row["hold_value"], row["excess"]) == ("0.05", "0.1", "2100", "0")


def test_a_split_keeps_the_value_and_the_returns_whole(vb):
    """2:1 on 06-01: 10 sh at 120 before = 20 sh at 60 after; no drawdown, the stock gained 40%."""
    ok(vb("positions", "add", "ABC", "--qty", "10", "--cash", "0", "--anchor", "100", "--at", "2023-01-02"))
    for day, price in (("2023-01-02", "100"), ("2023-05-31", "120"), ("2023-06-01", "60"), ("2023-12-29", "70")):
        ok(vb("prices", "add", "ABC", price, "--at", day))
    ok(vb("splits", "add", "ABC", "2:1", "--date", "2023-06-01"))
    row = _report(vb, "ABC", "--since", "2023-01-01", "--until", "2023-12-31")[0]
    assert (row["contributions"], row["end_value"], row["pnl"]) == ("1000", "1400", "400")  # 20 sh · 70
    assert (row["twr"], row["stock_return"], row["max_drawdown"]) == ("0.4", "0.4", "0")  # 70·2/100 − 1
    assert (row["hold_value"], row["excess"]) == ("1400", "0")  # the 10 start shares are 20 after the split


def test_a_portfolio_total_is_measured_at_day_ends_not_at_mixed_moments(vb):
    """A rises at 10:00 the day B halves at 00:00: at 00:00 the sum would mix B's new price with
    A's old one (1000 + 500), a fall the portfolio never had at any day's end (1500 + 500)."""
    for symbol in ("A", "B"):
        ok(vb("positions", "add", symbol, "--qty", "100", "--cash", "0", "--anchor", "10", "--at", "2023-03-01"))
        ok(vb("prices", "add", symbol, "10", "--at", "2023-03-01"))
    ok(vb("prices", "add", "B", "5", "--at", "2023-03-02"))
    ok(vb("prices", "add", "A", "15", "--at", "2023-03-02T10:00:00Z"))
    a, b, total = _report(vb, "--since", "2023-03-01", "--until", "2023-03-02")
    assert (a["max_drawdown"], b["max_drawdown"]) == ("0", "0.5")
    assert (total["start_value"], total["end_value"], total["twr"], total["max_drawdown"]) == ("0", "2000", "0", "0")
    # +50% in two days is 1.5^182.5 − 1 ≈ 1.3·10^32 a year: too large to annualise, said so
    assert a["twr_annualized"] is None and "too short to annualise" in a["notes"]


prices = st.lists(st.decimals(min_value=D("1"), max_value=D("1000"), places=2), min_size=3, max_size=12)


@settings(max_examples=60, deadline=None)
@given(prices, st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=5)), max_size=6))
def test_twr_without_external_flows_is_end_over_start(closes, trades):
    # Daily closes, fills at noon at the day's close, no deposit or withdrawal in the period.
    day0 = datetime(2023, 1, 1, tzinfo=UTC)
    facts = [Opening(at=day0 - timedelta(days=10), qty=D(10), cash=D(100000), cost_per_share=closes[0], anchor=closes[0])]
    qty = D(10)
    for i, (buy, n) in enumerate(trades[: len(closes) - 1]):
        side = "buy" if buy or qty < n else "sell"
        qty += n if side == "buy" else -n
        facts.append(Fill(trade_id=f"t{i}", side=side, qty=D(n), price=closes[i + 1], commission=D(0),
                          at=day0 + timedelta(days=i + 1, hours=12), seq=i + 1))
    series = [(day0 + timedelta(days=i), price) for i, price in enumerate(closes)]
    end = day0 + timedelta(days=len(closes))
    result = walk(facts, series, start=day0 + timedelta(hours=1), end=end, realized={})
    period = Period(day0 + timedelta(hours=1), end, tuple(result.points), tuple(result.flows))
    start_value = 10 * closes[0] + 100000
    end_value = result.end.qty * closes[-1] + result.end.cash
    assert result.flows == []
    assert twr(period).value == q(end_value / start_value - 1)
