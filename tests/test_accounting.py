"""Accounting of fills (SPEC §3), exact numbers and times, with every number worked out by hand."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from vbcli.domain.accounting import Holdings, apply_fill, default_commission, replay_avg_cost, reverse_fill
from vbcli.domain.numbers import (
    fmt,
    normalize,
    parse_decimal,
    parse_fraction,
    parse_positive,
    round_avg_cost,
    round_money,
)
from vbcli.domain.timeparse import parse_date, parse_time, rfc3339
from vbcli.errors import Refused, UsageError

EMPTY = Holdings(qty=D("0"), cash=D("10000"), avg_cost=None)


# ---- buys, sells, avg_cost, realized P&L ------------------------------------------------


def test_buy_takes_cash_and_commission_and_sets_avg_cost_without_commission():
    # 10 @ 100 with commission 1: cash 10 000 − 1 000 − 1 = 8 999; avg_cost 100 (commission excluded).
    result = apply_fill(EMPTY, "buy", D("10"), D("100"), D("1"))
    assert result.notional == D("1000")
    assert result.realized_pnl == 0
    assert result.holdings == Holdings(qty=D("10"), cash=D("8999"), avg_cost=D("100"), realized_pnl=D("0"), total_commission=D("1"))


def test_second_buy_weights_avg_cost():
    # (10·100 + 10·110)/20 = 2 100/20 = 105; cash 8 999 − 1 100 − 1 = 7 898.
    first = apply_fill(EMPTY, "buy", D("10"), D("100"), D("1")).holdings
    second = apply_fill(first, "buy", D("10"), D("110"), D("1")).holdings
    assert (second.qty, second.cash, second.avg_cost, second.total_commission) == (D("20"), D("7898"), D("105"), D("2"))


def test_sell_keeps_avg_cost_and_realizes_pnl_net_of_commission():
    # Holding 20 @ 105. Sell 5 @ 120, commission 1: realized (120 − 105)·5 − 1 = 74;
    # cash 7 898 + 600 − 1 = 8 497; avg_cost stays 105.
    held = Holdings(qty=D("20"), cash=D("7898"), avg_cost=D("105"), total_commission=D("2"))
    result = apply_fill(held, "sell", D("5"), D("120"), D("1"))
    assert result.realized_pnl == D("74")
    assert result.holdings == Holdings(qty=D("15"), cash=D("8497"), avg_cost=D("105"), realized_pnl=D("74"), total_commission=D("3"))


def test_selling_everything_empties_avg_cost_and_a_loss_is_negative():
    # 15 @ 105 sold at 100, no commission: realized (100 − 105)·15 = −75; total 74 − 75 = −1.
    held = Holdings(qty=D("15"), cash=D("8497"), avg_cost=D("105"), realized_pnl=D("74"))
    result = apply_fill(held, "sell", D("15"), D("100"), D("0"))
    assert result.realized_pnl == D("-75")
    assert result.holdings.qty == 0 and result.holdings.avg_cost is None
    assert result.holdings.cash == D("9997")  # 8 497 + 1 500
    assert result.holdings.realized_pnl == D("-1")


def test_realized_pnl_has_no_trailing_zero_noise():
    # avg_cost 149.5223423424 (10 decimals); sell 0.5 @ 151.005, commission 0.01:
    # (151.005 − 149.5223423424)·0.5 − 0.01 = 1.4826576576·0.5 − 0.01 = 0.7413288288 − 0.01 = 0.7313288288.
    held = Holdings(qty=D("111"), cash=D("0"), avg_cost=D("149.5223423424"))
    result = apply_fill(held, "sell", D("0.5"), D("151.005"), D("0.01"))
    assert fmt(result.realized_pnl) == "0.7313288288"
    assert fmt(result.holdings.realized_pnl) == "0.7313288288"


def test_avg_cost_rounds_to_10_decimals_half_even():
    # 1 @ 1 and 1 @ 1.0000000001 → 2.0000000001/2 = 1.00000000005: a tie, to even → 1.0000000000.
    # 1 @ 1 and 1 @ 1.0000000003 → 1.00000000015: a tie, to even → 1.0000000002.
    one = apply_fill(EMPTY, "buy", D("1"), D("1"), D("0")).holdings
    assert apply_fill(one, "buy", D("1"), D("1.0000000001"), D("0")).holdings.avg_cost == D("1")
    assert apply_fill(one, "buy", D("1"), D("1.0000000003"), D("0")).holdings.avg_cost == D("1.0000000002")
    # 1 @ 1 and 2 @ 2 → 5/3 = 1.666666666666… → 1.6666666667.
    assert apply_fill(one, "buy", D("2"), D("2"), D("0")).holdings.avg_cost == D("1.6666666667")
    assert round_avg_cost(D("2.00000000025")) == D("2.0000000002")


def test_a_sell_without_avg_cost_realizes_only_the_commission():
    held = Holdings(qty=D("5"), cash=D("0"), avg_cost=None)
    assert apply_fill(held, "sell", D("5"), D("10"), D("0.5")).realized_pnl == D("-0.5")


# ---- refusals -------------------------------------------------------------------------------


def test_buy_needing_more_cash_than_held_is_refused_exit_5():
    # cash 100; 1 @ 100 + commission 0.01 = 100.01 > 100.
    poor = Holdings(qty=D("0"), cash=D("100"), avg_cost=None)
    with pytest.raises(Refused) as caught:
        apply_fill(poor, "buy", D("1"), D("100"), D("0.01"))
    assert caught.value.exit_code == 5
    assert "Not enough cash" in caught.value.message and "100.01" in caught.value.message
    # Exactly the cash is allowed and leaves 0.
    assert apply_fill(poor, "buy", D("1"), D("100"), D("0")).holdings.cash == 0


def test_selling_more_shares_than_held_is_refused():
    with pytest.raises(Refused, match="Not enough shares: selling 6 AAPL but the position holds 5"):
        apply_fill(Holdings(D("5"), D("0"), D("1")), "sell", D("6"), D("1"), D("0"), "AAPL")


def test_a_sell_whose_commission_exceeds_cash_and_proceeds_is_refused():
    # cash 0, proceeds 1·1 − commission 2 = −1 → negative cash.
    with pytest.raises(Refused, match="commission 2 exceeds"):
        apply_fill(Holdings(D("5"), D("0"), D("1")), "sell", D("1"), D("1"), D("2"))


# ---- commission rounding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notional", "rate", "currency", "expected"),
    [
        ("50", "0.0001", "USD", "0.01"),  # 0.005 → half-up → 0.01 (half-even would give 0.00)
        ("149", "0.0001", "USD", "0.01"),  # 0.0149 → 0.01
        ("1596.98", "0.0001", "USD", "0.16"),  # 0.159698 → 0.16
        ("250", "0.0001", "USD", "0.03"),  # 0.025 → 0.03
        ("12345", "0.0001", "JPY", "1"),  # 1.2345 yen → 1 (no minor unit)
        ("15", "0.1", "JPY", "2"),  # 1.5 yen → 2
        ("12345", "0.0001", "BHD", "1.235"),  # 1.2345 → 3 decimals, half-up → 1.235
        ("0", "0.0001", "USD", "0.00"),
    ],
)
def test_default_commission_rounds_half_up_to_the_currencys_cents(notional, rate, currency, expected):
    assert str(default_commission(D(notional), D(rate), currency)) == expected


def test_round_money_is_half_up_also_for_negative_amounts():
    assert round_money(D("-0.005")) == D("-0.01")
    assert round_money(D("2.675")) == D("2.68")  # a float would say 2.67


# ---- void and replay ---------------------------------------------------------------------


def test_reverse_fill_of_a_buy_gives_back_cash_and_commission():
    # Before: 0 shares, 10 000. Buy 10 @ 100 + 1 → 10 shares, 8 999. Reverse → 0 shares, 10 000, commission 0.
    bought = apply_fill(EMPTY, "buy", D("10"), D("100"), D("1")).holdings
    back = reverse_fill(bought, "buy", D("10"), D("100"), D("1"), D("0"))
    assert (back.qty, back.cash, back.total_commission, back.realized_pnl) == (D("0"), D("10000"), D("0"), D("0"))


def test_reverse_fill_of_a_sell_takes_back_proceeds_and_realized_pnl():
    # Sell 5 @ 120 − 1 realized 74, cash +599; reversing gives 20 shares, 7 898, realized 0.
    held = Holdings(qty=D("20"), cash=D("7898"), avg_cost=D("105"), total_commission=D("2"))
    sold = apply_fill(held, "sell", D("5"), D("120"), D("1"))
    back = reverse_fill(sold.holdings, "sell", D("5"), D("120"), D("1"), sold.realized_pnl)
    assert (back.qty, back.cash, back.realized_pnl, back.total_commission) == (D("20"), D("7898"), D("0"), D("2"))


def test_reverse_fill_refuses_what_would_go_negative():
    with pytest.raises(Refused, match="Cannot void this buy"):
        reverse_fill(Holdings(D("3"), D("0"), D("1")), "buy", D("5"), D("1"), D("0"), D("0"))
    with pytest.raises(Refused, match="negative cash"):
        reverse_fill(Holdings(D("0"), D("10"), None), "sell", D("5"), D("10"), D("0"), D("0"))  # 10 − 50 < 0


def test_replay_avg_cost():
    # Opening 100 @ 150, buy 11 @ 145.18: (15 000 + 1 596.98)/111 = 16 596.98/111 = 149.52234234234… → 149.5223423423.
    assert replay_avg_cost(D("100"), D("150"), [("buy", D("11"), D("145.18"))]) == D("149.5223423423")
    # Sells leave it; selling out empties it; a later buy starts afresh.
    assert replay_avg_cost(D("10"), D("5"), [("sell", D("4"), D("9"))]) == D("5")
    assert replay_avg_cost(D("10"), D("5"), [("sell", D("10"), D("9"))]) is None
    assert replay_avg_cost(D("10"), D("5"), [("sell", D("10"), D("9")), ("buy", D("2"), D("7"))]) == D("7")
    # No opening shares: the opening cost is ignored.
    assert replay_avg_cost(D("0"), D("99"), []) is None


# ---- 0.1 + 0.2 through storage ---------------------------------------------------------------


def test_point_one_plus_point_two_stays_point_three_in_storage(vb):
    assert vb("positions", "add", "X", "--at", "2020-01-01", "--cash", "0.1").exit_code == 0
    deposited = vb("positions", "deposit", "X", "0.2", "--json")
    assert deposited.exit_code == 0, deposited.stderr
    assert json.loads(deposited.stdout)["cash"] == "0.3"
    # Read back in a new transaction: the stored value is exact (a float would give 0.30000000000000004).
    assert json.loads(vb("positions", "show", "X", "--json").stdout)["cash"] == "0.3"
    assert vb("positions", "withdraw", "X", "0.3").exit_code == 0
    assert json.loads(vb("positions", "show", "X", "--json").stdout)["cash"] == "0.0"  # 0.3 − 0.3, never "-0"


# ---- parsing numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", "3"), ("  12.50 ", "12.50"), ("-0", "0"), ("+5", "5"), (".5", "0.5"), ("5.", "5"), ("0.000000000001", "0.000000000001"),
     ("999999999999999.999999999999", "999999999999999.999999999999")],
)
def test_parse_decimal_accepts_plain_numbers(text, expected):
    value = parse_decimal(text, what="--cash")
    assert fmt(value) == expected
    assert not value.is_signed()  # "-0" is plain zero


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e5", "must be a plain decimal number such as 12.5, not '1e5'"),
        ("NaN", "not 'NaN'"),
        ("Infinity", "not 'Infinity'"),
        ("-Infinity", "not '-Infinity'"),
        ("1e999", "not '1e999'"),
        ("1,000", "not '1,000'"),
        ("0x10", "not '0x10'"),
        ("", "not ''"),
        ("١٢", "not '١٢'"),  # Arabic-Indic digits are not ASCII digits
        ("1000000000000000", "is too large"),
        ("9" * 400, "is too large"),
        ("1.0000000000001", "has more than 12 decimal places"),
        ("-1", "must not be negative"),
        ("1\x1b[2J", "not '1\\x1b[2J'"),  # control characters are shown, not sent to the terminal
    ],
)
def test_parse_decimal_refuses_everything_else(text, message):
    with pytest.raises(UsageError) as caught:
        parse_decimal(text, what="--cash")
    assert caught.value.exit_code == 2
    assert message in caught.value.message
    assert caught.value.message.startswith("--cash")


def test_parse_positive_refuses_zero():
    with pytest.raises(UsageError, match="--price must be greater than zero"):
        parse_positive("0.000", what="--price")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3%", "0.03"), ("0.03", "0.03"), ("0.0300", "0.03"), ("0.20", "0.2"), ("100%", "1"), ("1", "1"), ("0.5%", "0.005"),
     ("-0", "0"), ("0%", "0"), ("12.5%", "0.125")],
)
def test_parse_fraction(text, expected):
    assert fmt(parse_fraction(text, what="--trigger")) == expected


def test_parse_fraction_refuses_a_bare_number_above_one_with_a_hint():
    with pytest.raises(UsageError) as caught:
        parse_fraction("3", what="--trigger")
    assert caught.value.message == "--trigger '3' is above 1; did you mean 3%?"
    with pytest.raises(UsageError, match="above 100%"):
        parse_fraction("150%", what="--max-alloc")
    assert parse_fraction("150%", what="--anchor-reset", allow_above_one=True) == D("1.5")
    for bad in ("3%%", "%", "NaN%", "-3%", "1e2%"):
        with pytest.raises(UsageError):
            parse_fraction(bad, what="--trigger")


def test_normalize_and_fmt_never_use_exponents_or_minus_zero():
    assert fmt(normalize(D("100.00"))) == "100"
    assert fmt(normalize(D("1E+3"))) == "1000"
    assert fmt(D("1E+3")) == "1000"
    assert fmt(D("1E-7")) == "0.0000001"
    assert fmt(D("-0.00")) == "0.00"
    assert fmt(D("-0")) == "0"
    assert fmt(None) == ""


# ---- times ----------------------------------------------------------------------------------------


UTC = timezone.utc


def test_a_date_is_the_start_of_its_utc_day_and_until_takes_the_whole_day():
    assert parse_time("2026-11-26", what="--since") == datetime(2026, 11, 26, tzinfo=UTC)
    end = parse_time("2026-11-26", what="--until", end_of_day=True)
    assert end == datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=UTC)
    assert rfc3339(end) == "2026-11-26T23:59:59.999999Z"


def test_offsets_are_converted_to_utc():
    # 14:30 at +01:00 is 13:30 UTC; z and Z both mean UTC.
    assert parse_time("2026-11-26T14:30:00+01:00", what="--at") == datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
    assert parse_time("2026-11-26T14:30:00z", what="--at") == datetime(2026, 11, 26, 14, 30, tzinfo=UTC)
    assert rfc3339(parse_time("2026-11-26T14:30:00-05:00", what="--at")) == "2026-11-26T19:30:00Z"


def test_now_and_today():
    before = datetime.now(UTC)
    now = parse_time("now", what="--at")
    assert before <= now <= datetime.now(UTC)
    today = parse_time("TODAY", what="--since")
    assert today == datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
    assert parse_time("today", what="--until", end_of_day=True) - today == timedelta(days=1, microseconds=-1)
    assert parse_date("today", what="--ex-date") == datetime.now(UTC).date()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-26T14:30:00", "has no UTC offset; add Z or +HH:MM, or give a date"),
        ("2026-13-01", "is not a date (2026-11-26)"),
        ("2026-02-30", "is not a date"),
        ("26-01-01", "is not a date"),
        ("tomorrow", "is not a date"),
        ("", "is not a date"),
        ("2026-01-01T25:00:00Z", "is not a date"),
        ("0001-01-01T00:00:00Z", "is out of range"),
    ],
)
def test_malformed_times_are_refused(text, message):
    with pytest.raises(UsageError) as caught:
        parse_time(text, what="--since")
    assert caught.value.exit_code == 2 and message in caught.value.message


def test_parse_date_refuses_a_date_time():
    with pytest.raises(UsageError, match="is not a date such as 2026-11-26"):
        parse_date("2026-11-26T00:00:00Z", what="--ex-date")


def test_yesterday_is_the_previous_utc_day():
    from datetime import timedelta

    from vbcli.domain.timeparse import parse_date, parse_time, utcnow

    today = utcnow().date()
    assert parse_date("yesterday", what="--date") == today - timedelta(days=1)
    start = parse_time("yesterday", what="--since")
    end = parse_time("Yesterday", what="--until", end_of_day=True)
    assert (start.date(), start.hour, start.minute) == (today - timedelta(days=1), 0, 0)
    assert end.date() == today - timedelta(days=1) and (end.hour, end.minute, end.second) == (23, 59, 59)
