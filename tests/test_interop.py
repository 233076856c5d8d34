"""Ledger (hledger) and beancount journals: the second tools accept them and agree with vb."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

HLEDGER = shutil.which("hledger")
BEAN_CHECK = Path(sys.executable).parent / "bean-check"


def build(vb) -> None:
    """Buys, sells, commissions, deposits, withdrawals and dividends in two portfolios."""
    steps = [
        ("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150"),
        ("trades", "add", "AAPL", "buy", "10", "--price", "145.5", "--commission", "1", "--at", "2026-01-05T15:00:00Z"),
        ("trades", "add", "AAPL", "sell", "4", "--price", "160.25", "--at", "2026-01-06T15:00:00Z"),
        ("positions", "deposit", "AAPL", "500"),
        ("positions", "withdraw", "AAPL", "200"),
        ("dividends", "add", "AAPL", "--per-share", "0.5", "--ex-date", "2026-01-10", "--pay-date", "2026-01-20"),
        ("dividends", "add", "AAPL", "--per-share", "0.1", "--ex-date", "2026-02-10"),
        ("dividends", "process"),
        ("portfolios", "add", "Growth & Income"),
        ("positions", "add", "A", "--at", "2020-01-01", "--qty", "0", "--cash", "5000", "--portfolio", "Growth & Income"),
        ("trades", "add", "Growth & Income/A", "buy", "10", "--price", "120.125", "--commission", "0.5", "--at", "2026-03-01T10:00:00Z"),
        ("trades", "add", "Growth & Income/A", "sell", "10", "--price", "119", "--commission", "0", "--at", "2026-03-01T11:00:00Z"),
        ("positions", "add", "BRK.B", "--at", "2020-01-01", "--qty", "2", "--cash", "1000", "--anchor", "450.5"),
    ]
    for step in steps:
        result = vb(*step)
        assert result.exit_code == 0, (step, result.stderr)


def export(vb, tmp_path: Path, fmt: str) -> Path:
    target = tmp_path / f"journal.{fmt}"
    result = vb("export", "all", "--format", fmt, "--out", str(target))
    assert result.exit_code == 0, result.stderr
    return target


def positions(vb) -> dict[str, dict]:
    return {row["symbol"]: row for row in json.loads(vb("positions", "list", "--json").stdout)}


def expected_balances() -> dict[str, Decimal]:
    # AAPL: 100 shares + 10 − 4 = 106; cash 10000 − (1455 + 1) + (641 − 0.06) + 500 − 200 = 9484.94,
    #   then the first dividend: 106 × 0.5 = 53 gross, 13.25 tax, 39.75 net paid → 9524.69 cash;
    #   the second: 106 × 0.1 = 10.6 gross, 2.65 tax, 7.95 net still receivable.
    # A: cash 5000 − (1201.25 + 0.5) + 1190 = 4988.25, no shares.
    return {
        "Assets:VB:Default:AAPL:Shares": Decimal("106"), "Assets:VB:Default:AAPL:Cash": Decimal("9524.69"),
        "Assets:VB:Default:AAPL:Dividends-Receivable": Decimal("7.95"),
        "Expenses:VB:Default:AAPL:Commissions": Decimal("1.06"),
        "Assets:VB:Growth-Income:A:Cash": Decimal("4988.25"),
        "Assets:VB:Default:BRK-B:Shares": Decimal("2"), "Assets:VB:Default:BRK-B:Cash": Decimal("1000"),
    }


def test_hledger_accepts_the_journal_and_agrees(vb, tmp_path):
    if HLEDGER is None:
        pytest.skip("hledger is not installed (apt-get install hledger)")
    build(vb)
    journal = export(vb, tmp_path, "ledger")
    checked = subprocess.run([HLEDGER, "-f", str(journal), "check"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    report = subprocess.run([HLEDGER, "-f", str(journal), "bal", "--flat", "-N", "-O", "csv"], capture_output=True, text=True, check=True)
    balances: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for account, amount in list(csv.reader(io.StringIO(report.stdout)))[1:]:
        for part in amount.split(", "):
            number, _, unit = part.rpartition(" ")
            balances[account][unit.strip('"')] = Decimal(number)
    for account, value in expected_balances().items():
        assert sum(balances[account].values()) == value, account
    held = positions(vb)
    assert balances["Assets:VB:Default:AAPL:Shares"]["AAPL"] == Decimal(held["AAPL"]["qty"])
    assert balances["Assets:VB:Default:AAPL:Cash"]["USD"] == Decimal(held["AAPL"]["cash"])
    assert balances["Assets:VB:Growth-Income:A:Cash"]["USD"] == Decimal(held["A"]["cash"])
    # Realized on the A round trip: (119 − 120.125) × 10 = −11.25 before commission, booked as income.
    assert balances["Income:VB:Growth-Income:A:Realized-PnL"]["USD"] == Decimal("11.25")


def beancount_balances(path: Path) -> dict[str, dict[str, Decimal]]:
    from beancount import loader
    from beancount.core import data

    entries, errors, _options = loader.load_file(str(path))
    assert not errors, errors
    balances: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                balances[posting.account][posting.units.currency] += posting.units.number
    return balances


def test_bean_check_accepts_the_journal_and_agrees(vb, tmp_path):
    if not BEAN_CHECK.exists():
        pytest.skip("bean-check is not installed (pip install beancount)")
    build(vb)
    journal = export(vb, tmp_path, "beancount")
    checked = subprocess.run([str(BEAN_CHECK), str(journal)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    balances = beancount_balances(journal)
    for account, value in expected_balances().items():
        assert sum(balances[account].values()) == value, account
    held = positions(vb)
    assert balances["Assets:VB:Default:AAPL:Shares"]["AAPL"] == Decimal(held["AAPL"]["qty"])
    assert balances["Assets:VB:Default:AAPL:Dividends-Receivable"]["USD"] == Decimal(held["AAPL"]["dividend_receivable"])
    # "A" is too short for a beancount commodity: it gets a deterministic stand-in name.
    assert [c for c in balances["Assets:VB:Growth-Income:A:Shares"]] == [commodity_of("A")]
    assert "balance Assets:VB:Default:AAPL:Shares" in journal.read_text()


def commodity_of(symbol: str) -> str:
    from vbcli.services.io.journal import commodity

    return commodity(symbol)


def test_journals_are_deterministic(vb, tmp_path):
    build(vb)
    first = vb("export", "all", "--format", "beancount").stdout
    assert first == vb("export", "all", "--format", "beancount").stdout
    assert vb("export", "all", "--format", "ledger").stdout == vb("export", "all", "--format", "ledger").stdout


def test_journal_per_position_and_refused_filters(vb):
    build(vb)
    one = vb("export", "trades", "AAPL", "--format", "ledger")
    assert one.exit_code == 0, one.stderr
    assert "AAPL" in one.stdout and "Growth-Income" not in one.stdout
    refused = vb("export", "trades", "--since", "2026-01-01", "--format", "beancount")
    assert refused.exit_code == 2
    assert "whole positions" in refused.stderr


@pytest.mark.parametrize("symbol, expected", [("AAPL", "AAPL"), ("BRK.B", "BRK.B"), ("USD", None), ("A", None), ("7203.T", None)])
def test_commodity_names(symbol, expected):
    from vbcli.services.io.journal import _COMMODITY, commodity

    name = commodity(symbol, {"USD"})
    assert _COMMODITY.match(name)
    assert name == (expected or name) and (expected is not None or name.startswith("VB-"))
    assert commodity(symbol, {"USD"}) == name  # deterministic
