"""`vb dividends`: ex-date (anchor, tax, receivable), payment, idempotency, process."""

from __future__ import annotations

import json
from decimal import Decimal as D

from sqlmodel import select

from vbcli.store.tables import CashFlow
from helpers import json_out


_json = json_out  # the shared helper, under the name these tests use


def _add_position(vb, qty: str = "100") -> dict:
    return _json(vb, "positions", "add", "AAPL", "--at", "2020-01-01", "--qty", qty, "--cash", "10000", "--anchor", "150")


def _announce(vb, *extra: str, ex_date: str = "2026-01-10") -> dict:
    return _json(vb, "dividends", "add", "AAPL", "--per-share", "0.2375", "--ex-date", ex_date, *extra)


FUTURE_EX, FUTURE_PAY = "2099-01-10", "2099-01-20"  # not yet due: announced until processed (SPEC §3, revision 2)


def _position(vb) -> dict:
    return _json(vb, "positions", "show", "AAPL")


def _event_types(vb) -> list[str]:
    return [e["type"] for e in reversed(_json(vb, "events", "list"))]


def test_add_announces_and_changes_nothing_else(vb) -> None:
    _add_position(vb)
    dividend = _announce(vb, "--pay-date", FUTURE_PAY, ex_date=FUTURE_EX)
    assert dividend["id"].startswith("div_")
    assert {k: dividend[k] for k in ("per_share", "ex_date", "pay_date", "withholding", "gross", "tax", "net", "status")} == {
        "per_share": "0.2375", "ex_date": FUTURE_EX, "pay_date": FUTURE_PAY, "withholding": "0.25",
        "gross": None, "tax": None, "net": None, "status": "announced"}  # fmt: skip
    position = _position(vb)
    assert (position["anchor"], position["dividend_receivable"], position["cash"]) == ("150", "0", "10000")
    assert _event_types(vb) == ["position_created", "dividend_announced"]


def test_process_applies_the_ex_date_then_the_payment(vb, ledger) -> None:
    _add_position(vb)
    dividend = _announce(vb, "--pay-date", FUTURE_PAY, ex_date=FUTURE_EX)
    done = _json(vb, "dividends", "process", "--date", "2099-01-15")
    # gross = 100·0.2375 = 23.75; tax = 23.75·25% = 5.9375 → 5.94 (half-up); net = 17.81.
    assert [(d["id"], d["done"], d["gross"], d["tax"], d["net"], d["status"]) for d in done] == [
        (dividend["id"], "ex-date applied", "23.75", "5.94", "17.81", "receivable")]
    position = _position(vb)
    # anchor 150 - 0.2375 = 149.7625; the net waits as a receivable.
    assert (position["anchor"], position["dividend_receivable"], position["cash"]) == ("149.7625", "17.81", "10000")
    # The receivable counts in V: 100·150 + 10000 + 17.81 = 25017.81.
    assert _json(vb, "evaluate", "AAPL", "--price", "150")["total_value"] == "25017.81"
    assert _json(vb, "dividends", "process", "--date", "2099-01-15") == []  # nothing new is due
    assert vb("db", "check").exit_code == 0  # the receivable matches the receivable dividends

    paid = _json(vb, "dividends", "process", "--date", FUTURE_PAY)
    assert [(d["done"], d["status"]) for d in paid] == [("paid", "paid")]
    position = _position(vb)
    assert (D(position["cash"]), D(position["dividend_receivable"]), D(position["total_dividends"])) == (D("10017.81"), 0, D("17.81"))
    assert _event_types(vb) == ["position_created", "dividend_announced", "anchor_adjusted_for_dividend",
                                "ex_dividend_applied", "dividend_paid"]
    adjusted = _json(vb, "events", "list", "--type", "anchor_adjusted_for_dividend")[0]["data"]
    assert (adjusted["old"], adjusted["new"]) == ("150", "149.7625")
    with ledger.read() as session:
        flows = session.exec(select(CashFlow)).all()
        assert [(f.kind, f.amount, f.ref_id) for f in flows] == [("dividend", D("17.81"), dividend["id"])]
    assert vb("db", "check").exit_code == 0  # cash = opening cash + the dividend cash flow


def test_tax_is_rounded_half_up_to_cents(vb) -> None:
    _add_position(vb, qty="10")
    dividend = _json(vb, "dividends", "add", "AAPL", "--per-share", "0.07", "--ex-date", "2026-01-10", "--withholding", "15%")
    paid = _json(vb, "dividends", "pay", dividend["id"])
    # gross = 10·0.07 = 0.70; tax = 0.70·0.15 = 0.105 → 0.11 (half-up; half-even would give 0.10).
    assert (D(paid["gross"]), paid["tax"], D(paid["net"]), paid["status"]) == (D("0.7"), "0.11", D("0.59"), "paid")
    assert D(_position(vb)["cash"]) == D("10000.59")


def test_pay_applies_an_announced_dividend_first_and_twice_is_once(vb) -> None:
    _add_position(vb)
    dividend = _announce(vb)
    first = _json(vb, "dividends", "pay", dividend["id"])
    assert (first["status"], first["net"]) == ("paid", "17.81")
    events = _event_types(vb)
    assert events[-3:] == ["anchor_adjusted_for_dividend", "ex_dividend_applied", "dividend_paid"]
    again = _json(vb, "dividends", "pay", dividend["id"][:12])
    assert again["status"] == "paid"
    assert _event_types(vb) == events
    assert _json(vb, "dividends", "process", "--date", "2026-12-31") == []
    position = _position(vb)
    assert (position["anchor"], D(position["cash"]), D(position["total_dividends"])) == ("149.7625", D("10017.81"), D("17.81"))


def test_shares_are_counted_as_held_before_the_ex_date(vb) -> None:
    _add_position(vb)
    # A fill before the ex-date counts, one on the ex-date does not (buying on the ex-date
    # does not earn the dividend): 100 + 10 = 110 shares → gross 110·0.2375 = 26.125,
    # tax 6.53125 → 6.53, net 19.595.
    assert vb("trades", "add", "AAPL", "buy", "10", "--price", "140", "--at", "2026-01-09T15:00:00Z").exit_code == 0
    assert vb("trades", "add", "AAPL", "buy", "5", "--price", "141", "--at", "2026-01-10T15:00:00Z").exit_code == 0
    applied = _announce(vb)  # due when added: applied at once (SPEC §3, revision 2)
    assert (applied["qty"], D(applied["gross"]), applied["tax"], D(applied["net"])) == ("110", D("26.125"), "6.53", D("19.595"))
    # On the timeline the ex-date lowered the anchor of that time (140, the fill of 2026-01-09) to 139.7625; the
    # fill later that day set it to 141, an ex-dividend price, which is the anchor now.
    assert _position(vb)["anchor"] == "141"
    adjusted = _json(vb, "events", "list", "--type", "anchor_adjusted_for_dividend")[0]["data"]
    assert (adjusted["old"], adjusted["new"]) == ("140", "139.7625")
    assert _json(vb, "dividends", "process", "--date", "2026-01-10") == []


def test_keys_and_duplicates(vb) -> None:
    _add_position(vb)
    first = _announce(vb, "--key", "div-1")
    replay = vb("dividends", "add", "AAPL", "--per-share", "0.2375", "--ex-date", "2026-01-10", "--key", "div-1", "--json")
    assert replay.exit_code == 0 and json.loads(replay.stdout)["id"] == first["id"]
    assert vb("dividends", "add", "AAPL", "--per-share", "0.3", "--ex-date", "2026-01-10", "--key", "div-1").exit_code == 4
    duplicate = vb("dividends", "add", "AAPL", "--per-share", "0.2375", "--ex-date", "2026-01-10")
    assert duplicate.exit_code == 4 and first["id"] in duplicate.stderr
    assert len(_json(vb, "dividends", "list", "AAPL")) == 1
    pay = vb("dividends", "pay", first["id"], "--key", "pay-1", "--json")
    pay_again = vb("dividends", "pay", first["id"], "--key", "pay-1", "--json")
    assert pay.exit_code == pay_again.exit_code == 0 and json.loads(pay.stdout) == json.loads(pay_again.stdout)
    assert D(_position(vb)["cash"]) == D("10017.81")


def test_bad_input_and_unknown_things(vb) -> None:
    _add_position(vb)
    assert vb("dividends", "add", "AAPL", "--per-share", "0", "--ex-date", "2026-01-10").exit_code == 2
    assert vb("dividends", "add", "AAPL", "--per-share", "1", "--ex-date", "10/01/2026").exit_code == 2
    assert vb("dividends", "add", "AAPL", "--per-share", "1", "--ex-date", "2026-01-10", "--withholding", "25").exit_code == 2
    late = vb("dividends", "add", "AAPL", "--per-share", "1", "--ex-date", "2026-01-10", "--pay-date", "2026-01-09")
    assert late.exit_code == 2 and "before --ex-date" in late.stderr
    assert vb("dividends", "add", "MSFT", "--per-share", "1", "--ex-date", "2026-01-10").exit_code == 3
    assert vb("dividends", "pay", "div_nothing_here").exit_code == 3
    assert vb("dividends", "list", "--status", "due").exit_code == 2
    assert _json(vb, "dividends", "list") == []


def test_list_and_process_skip_closed_positions(vb) -> None:
    position = _add_position(vb)
    _announce(vb, "--pay-date", FUTURE_PAY, ex_date=FUTURE_EX)
    listed = _json(vb, "dividends", "list", "--status", "announced")
    assert [(d["symbol"], d["position_id"], d["status"]) for d in listed] == [("AAPL", position["id"], "announced")]
    assert vb("positions", "close", "AAPL").exit_code == 0
    assert _json(vb, "dividends", "process", "--date", "2099-02-01") == []
    assert _json(vb, "dividends", "list", position["id"])[0]["status"] == "announced"


def test_process_dry_run_writes_nothing(vb) -> None:
    _add_position(vb)
    _announce(vb, ex_date=FUTURE_EX)
    done = vb("dividends", "process", "--date", FUTURE_EX, "--dry-run", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)[0]["status"] == "receivable"
    assert _position(vb)["anchor"] == "150"
    assert _json(vb, "dividends", "list")[0]["status"] == "announced"
