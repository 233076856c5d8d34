"""Performance math (SPEC §8.5): TWR, IRR, hold, drawdown, turnover — by hand and against hledger roi."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbcli.domain import performance as perf
from vbcli.domain.performance import Flow, Period, ValuePoint

D = Decimal
HLEDGER = shutil.which("hledger")


def q(value: Decimal) -> Decimal:
    """Quantise a hand-computed rate the way the module promises (10 places, half-even)."""
    return value.quantize(D("1e-10"))


# The position of every hand test (USD, stock ABC, withholding 15%), all in 2023.
# Flows are at 00:00 (the start of their day, as hledger counts a dated posting).
#   01-01 00:00 deposit 10000 (the opening)        cash 10000            value 10000
#   01-01 10:00 buy 50 @ 100, commission 0         50 sh, cash 5000      value 10000
#   04-01       price 110                                                value 10500
#   06-30       price 120                                                value 11000
#   07-01 00:00 deposit 5000                       cash 10000            value 16000
#   07-01 10:00 buy 25 @ 120, commission 5         75 sh, cash 6995      value 15995
#   09-15       dividend 1.00/sh: 75 gross, 11.25 tax, 63.75 net         value 16058.75
#   09-30       price 100                                                value 14558.75
#   10-01 00:00 withdraw 3000                      cash 4058.75          value 11558.75
#   11-01 10:00 sell 20 @ 105, commission 5        55 sh, cash 6153.75   value 11928.75
#   12-31       price 110                                                value 12203.75
POINTS = (
    ValuePoint(datetime(2023, 1, 1, 10), D("10000")),
    ValuePoint(datetime(2023, 4, 1), D("10500")),
    ValuePoint(datetime(2023, 6, 30), D("11000")),
    ValuePoint(datetime(2023, 7, 1, 10), D("15995")),
    ValuePoint(datetime(2023, 9, 15), D("16058.75")),
    ValuePoint(datetime(2023, 9, 30), D("14558.75")),
    ValuePoint(datetime(2023, 11, 1, 10), D("11928.75")),
    ValuePoint(datetime(2023, 12, 31), D("12203.75")),
)
FLOWS = (
    Flow(datetime(2023, 1, 1), D("10000")),
    Flow(datetime(2023, 7, 1), D("5000")),
    Flow(datetime(2023, 10, 1), D("-3000")),
)
YEAR = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), POINTS, FLOWS)  # --since 2023-01-01 --until 2023-12-31
MID = Period(datetime(2023, 7, 1), datetime(2023, 12, 1), POINTS, FLOWS)  # --since 2023-07-01 --until 2023-11-30

JOURNAL = """\
P 2023-01-01 ABC 100 USD
P 2023-04-01 ABC 110 USD
P 2023-06-30 ABC 120 USD
P 2023-09-30 ABC 100 USD
P 2023-11-01 ABC 105 USD
P 2023-12-31 ABC 110 USD

2023-01-01 deposit
    assets:vb:cash              10000 USD
    equity:vb:contributions    -10000 USD

2023-01-01 buy
    assets:vb:stock                50 ABC @ 100 USD
    assets:vb:cash              -5000 USD

2023-07-01 deposit
    assets:vb:cash               5000 USD
    equity:vb:contributions     -5000 USD

2023-07-01 buy
    assets:vb:stock                25 ABC @ 120 USD
    expenses:vb:commission          5 USD
    assets:vb:cash              -3005 USD

2023-09-15 dividend
    assets:vb:cash              63.75 USD
    expenses:vb:withholding     11.25 USD
    income:vb:dividends           -75 USD

2023-10-01 withdrawal
    assets:vb:cash              -3000 USD
    equity:vb:withdrawals        3000 USD

2023-11-01 sell
    assets:vb:stock               -20 ABC @ 105 USD
    expenses:vb:commission          5 USD
    assets:vb:cash               2095 USD
"""


def test_values_flows_and_pnl_of_the_year():
    assert perf.start_value(YEAR) == 0  # nothing before the opening
    assert perf.end_value(YEAR) == D("12203.75")
    assert perf.contributions(YEAR) == D("15000")
    assert perf.withdrawals(YEAR) == D("3000")
    # 12203.75 − 0 − 15000 + 3000
    assert perf.pnl(YEAR) == D("203.75")


def test_twr_is_chain_linked_at_each_flow():
    # [01-01 start, deposit at 01-01): 0 → 0, skipped.
    # after the opening 10000 → just before 07-01: 11000              ×1.1
    # after the deposit 16000 → just before 10-01: 14558.75           ×0.909921875
    # after the withdrawal 11558.75 → end: 12203.75                   ×1.0558018...
    # 1.1 × 0.909921875 = 1.0009140625; × 12203.75 / 11558.75 = 1.05676695059884... → 5.6767%
    expected = D("1.1") * D("14558.75") / D("16000") * D("12203.75") / D("11558.75") - 1
    assert perf.twr(YEAR) == perf.Measured(q(expected))
    assert q(expected) == D("0.0567669506")
    # 365 days: annualised equals the period return
    assert perf.twr_annualized(YEAR).value == D("0.0567669506")


def test_irr_solves_the_cash_flow_equation():
    # Into the investment, days from 2023-01-01: +10000 at 0, +5000 at 181 (07-01),
    # −3000 at 273 (10-01), −12203.75 at 365. With x = 1+r, times (1+r)^(365/365):
    #   10000·x + 5000·x^(184/365) − 3000·x^(92/365) − 12203.75 = 0
    # f(1) = −203.75; f'(1) = 10000 + 5000·184/365 − 3000·92/365 = 11764.38
    # Newton: x1 = 1.0173192, x2 = 1.01732789326, x3 = 1.0173278932605 (stable) → r = 1.7327893%
    irr = perf.irr(YEAR)
    assert irr.value == D("0.0173278933")
    assert perf.irr_cash_flows(YEAR) == [(D(0), D(10000)), (D(181), D(5000)), (D(273), D(-3000)), (D(365), D("-12203.75"))]

    def f(x: Decimal) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 50
            return 10000 * x + 5000 * x ** (D(184) / 365) - 3000 * x ** (D(92) / 365) - D("12203.75")

    x = 1 + irr.value
    assert abs(f(x)) < D("1e-5")  # 10-place rounding of r moves f by at most 11764 × 5e-11
    assert f(x - D("1e-9")) < 0 < f(x + D("1e-9"))  # the root is within 1e-9 of the result


def test_a_period_starting_mid_history():
    # Start = end of 06-30: value 50·120 + 5000 = 11000; end = end of 11-30: 55·105 + 6153.75.
    assert perf.start_value(MID) == D("11000")
    assert perf.end_value(MID) == D("11928.75")
    # Flows inside: +5000 at 07-01 00:00 (the start itself), −3000 at 10-01; none outside.
    assert MID.flows_inside == [Flow(datetime(2023, 7, 1), D(5000)), Flow(datetime(2023, 10, 1), D(-3000))]
    # 11928.75 − 11000 − 5000 + 3000
    assert perf.pnl(MID) == D("-1071.25")
    # TWR: [start, 07-01 deposit) is empty (11000 → 11000); 16000 → 14558.75; 11558.75 → 11928.75
    # 0.909921875 × 1.03201038… − 1 = −0.0609511784…
    expected = D("14558.75") / D("16000") * D("11928.75") / D("11558.75") - 1
    assert perf.twr(MID).value == q(expected) == D("-0.0609511784")
    # IRR, days from 07-01 (T = 153): +11000 + 5000 at 0, −3000 at 92, −11928.75 at 153:
    #   16000·x^(153/365) − 3000·x^(61/365) − 11928.75 = 0
    # f(1) = 1071.25, f'(1) = 16000·153/365 − 3000·61/365 = 6205.48
    # Newton: 0.82737, 0.835634759, 0.8356578572, 0.83565785742683 → r = −16.434214257%
    assert perf.irr(MID).value == D("-0.1643421426")


def _hledger_irr(journal: str, tmp_path, begin: str, end: str) -> str:
    path = tmp_path / "vb.journal"
    path.write_text(journal)
    cmd = [HLEDGER, "-f", str(path), "roi", "--inv", "assets:vb", "--pnl", "income:vb|expenses:vb",
           "-b", begin, "-e", end, "--value=then,USD"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"\|\|\s*(-?[0-9.]+)%\s*\|\s*-?[0-9.]+%\s*\|", out)
    assert match, out
    return match.group(1)


@pytest.mark.parametrize("period, begin, end", [(YEAR, "2023-01-01", "2024-01-01"), (MID, "2023-07-01", "2023-12-01")])
def test_irr_agrees_with_hledger_roi(tmp_path, period, begin, end):
    if HLEDGER is None:
        pytest.skip("hledger is not installed (apt-get install hledger)")
    # hledger's -e is exclusive, as our end is; it prints the IRR in percent to 2 decimals.
    ours = (perf.irr(period).value * 100).quantize(D("0.01"))
    assert D(_hledger_irr(JOURNAL, tmp_path, begin, end)) == ours
    assert ours == (D("1.73") if period is YEAR else D("-16.43"))


def test_hold_value_and_excess_by_hand():
    # Over MID the start holdings are 50 sh and 5000 cash, no receivable; end price 105.
    # The 09-15 dividend on the 50 start shares: 50 gross, 7.50 tax, 42.50 net.
    # Flows kept as cash: +5000 − 3000 = 2000.
    # hold = 50·105 + 5000 + 0 + 42.50 + 2000 = 12292.50; excess = 11928.75 − 12292.50 = −363.75
    hold = perf.hold_value(D(50), D(5000), D(0), D(105), held_dividends_net=D("42.50"), net_flows=D(2000))
    assert hold == perf.Measured(D("12292.50"))
    assert perf.excess(perf.end_value(MID), hold) == perf.Measured(D("-363.75"))
    # Without flows or dividends: 50·105 + 5000 = 10250
    assert perf.hold_value(D(50), D(5000), D(0), D(105)).value == D(10250)


def test_stock_return_and_missing_prices():
    assert perf.stock_return(D(120), D(105)) == perf.Measured(D("-0.125"))  # 105/120 − 1
    for start, end in [(None, D(1)), (D(0), D(1)), (D(1), None), (D(1), D(0))]:
        result = perf.stock_return(start, end)
        assert result.value is None and "no price" in result.note
    missing = perf.hold_value(D(1), D(0), D(0), None)
    assert missing.value is None and "no price at the end" in missing.note
    assert perf.excess(D(100), missing) == missing


def test_nothing_invested_or_too_short():
    empty = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), ())
    assert perf.twr(empty).value is None and "nothing was invested" in perf.twr(empty).note
    assert perf.irr(empty).value is None
    short = Period(datetime(2023, 1, 1), datetime(2023, 1, 1, 12), (ValuePoint(datetime(2022, 1, 1), D(100)),))
    assert perf.twr(short).value == 0
    assert perf.twr_annualized(short).note == "the period is shorter than a day"
    assert perf.irr(short).note == "the period is shorter than a day"


def test_irr_of_a_short_steep_period():
    # 1000 → 1100 in 2 days, no flows: 1000·x^(2/365) = 1100 → x = 1.1^182.5 = 36,263,...
    start = datetime(2023, 1, 1)
    period = Period(start, start + timedelta(days=2), (ValuePoint(start - timedelta(hours=1), D(1000)),
                                                       ValuePoint(start + timedelta(days=1), D(1100))))
    with localcontext() as ctx:
        ctx.prec = 40
        expected = D("1.1") ** D("182.5") - 1
    assert abs(perf.irr(period).value - expected) < D("1e-6")  # 8 significant digits of 3.6e7
    assert perf.twr_annualized(period).value == q(expected)


def test_a_sub_period_growing_from_zero_gives_none():
    # Value appears (a receivable, say) with nothing invested and no flow: no base to divide by.
    period = Period(datetime(2023, 1, 1), datetime(2023, 3, 1), (ValuePoint(datetime(2023, 2, 1), D(5)),),
                    (Flow(datetime(2023, 2, 10), D(100)),))
    result = perf.twr(period)
    assert result.value is None and "not above zero" in result.note


def test_irr_total_loss_and_no_sign_change():
    lost = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), (ValuePoint(datetime(2023, 6, 1), D(0)),),
                  (Flow(datetime(2023, 1, 1), D(100)),))
    assert perf.irr(lost).value == D(-1)
    assert perf.twr(lost).value == D(-1)
    # Value out of nothing (a receivable with no shares), then only money out: no root.
    out = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), (ValuePoint(datetime(2023, 6, 1), D(100)),),
                 (Flow(datetime(2023, 7, 1), D(-50)),))
    assert perf.irr(out).note == "the cash flows do not change sign"
    # A withdrawal of money that is not there leaves a value below zero.
    negative = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), (), (Flow(datetime(2023, 2, 1), D(-100)),))
    assert perf.irr(negative).note == "the value is below zero at the start or the end"


def test_a_point_at_a_flow_moment_already_includes_it():
    # The replay may give a point after the deposit at the same moment; it must not count twice.
    at = datetime(2023, 3, 1)
    base = (ValuePoint(datetime(2022, 12, 31), D(100)), ValuePoint(datetime(2023, 5, 1), D(330)))
    with_point = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), base + (ValuePoint(at, D(300)),), (Flow(at, D(200)),))
    without = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), base, (Flow(at, D(200)),))
    # 100 → 100 before the flow (×1), 300 → 330 (×1.1): 10%
    assert perf.twr(with_point).value == perf.twr(without).value == D("0.1")


def test_flows_outside_the_period_are_in_the_boundary_values():
    # A deposit at the end moment belongs to the next period; one just before the start is in the start value.
    points = (ValuePoint(datetime(2022, 12, 1), D(100)),)
    flows = (Flow(datetime(2022, 12, 31, 23), D(50)), Flow(datetime(2024, 1, 1), D(1000)))
    period = Period(datetime(2023, 1, 1), datetime(2024, 1, 1), points, flows)
    assert perf.start_value(period) == perf.end_value(period) == D(150)
    assert period.flows_inside == []


def test_max_drawdown_of_the_growth_series():
    # Index: 1, 1, 1.05, 1.1, 1.09965625, 1.1040390625 (peak), 1.0009140625 (09-30), ...
    # (1.1040390625 − 1.0009140625) / 1.1040390625 = 0.103125 / 1.1040390625 = 0.09340702…
    series = perf.growth_series(YEAR)
    assert series[5] == D("1.1040390625") and series[6] == D("1.0009140625")
    assert perf.max_drawdown(series).value == q(D("0.103125") / D("1.1040390625"))
    assert perf.max_drawdown([D(1), D(2), D(3)]).value == 0
    assert perf.max_drawdown([]).value is None


def test_mean_value_and_turnover():
    # 10 days: 100 for the first 4, 200 for the last 6 → (400 + 1200) / 10 = 160
    start = datetime(2023, 1, 1)
    period = Period(start, start + timedelta(days=10), (ValuePoint(start - timedelta(days=1), D(100)),
                                                          ValuePoint(start + timedelta(days=4), D(200))))
    mean = perf.mean_value(period)
    assert mean.value == D(160)
    assert perf.turnover(D(80), mean).value == D("0.5")  # 80 / 160
    assert perf.turnover(D(80), perf.Measured(D(0))).value is None


def test_in_guardrails_counts_priced_days_only():
    # Priced days 0.5, 0.6, 0.8, 0.55 against [0.5, 0.7]: 3 of 4 inside (the bounds count as inside)
    days = [D("0.5"), D("0.6"), None, D("0.8"), D("0.55")]
    assert perf.in_guardrails(days, D("0.5"), D("0.7")).value == D("0.75")
    assert perf.in_guardrails([None, None], D("0.5"), D("0.7")).note == "no day in the period has a price"


def test_annualize_by_hand():
    # 21% over 730 days: (1.21)^(365/730) − 1 = 1.1 − 1
    assert perf.annualize(D("0.21"), D(730)).value == D("0.1")
    assert perf.annualize(D(-1), D(10)).value == D(-1)
    assert perf.annualize(None, D(10)).value is None


values = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(values, min_size=2, max_size=8))
def test_twr_without_flows_is_end_over_start(series):
    start = datetime(2023, 1, 1)
    points = tuple(ValuePoint(start + timedelta(days=i - 1), v) for i, v in enumerate(series))
    period = Period(start, start + timedelta(days=len(series)), points)
    assert perf.twr(period).value == q(series[-1] / series[0] - 1)


@settings(max_examples=40, deadline=None)
@given(values, values)
def test_irr_without_flows_over_365_days_is_end_over_start(first, last):
    start = datetime(2023, 1, 1)
    points = (ValuePoint(start - timedelta(hours=1), first), ValuePoint(start + timedelta(days=200), last))
    period = Period(start, start + timedelta(days=365), points)
    assert abs(perf.irr(period).value - (last / first - 1)) <= D("1e-10")


growths = st.decimals(min_value=D("0.5"), max_value=D("1.5"), places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(growths, min_size=2, max_size=6), st.integers(min_value=1, max_value=5), values, values)
def test_twr_ignores_the_size_of_a_flow_made_without_a_price_change(factors, cut, small, large):
    # Day i's value is the previous value times factors[i]; a deposit on day `cut` adds to the base
    # before that day's move, so the chain is the product of the factors whatever the deposit.
    start, cut = datetime(2023, 1, 1), min(cut, len(factors) - 1)

    def period(deposit: Decimal) -> Period:
        value, points = D(1000), [ValuePoint(start - timedelta(days=1), D(1000))]
        for i, factor in enumerate(factors):
            value = (value + (deposit if i == cut else 0)) * factor
            points.append(ValuePoint(start + timedelta(days=i, hours=12), value))
        return Period(start, start + timedelta(days=len(factors)), tuple(points), (Flow(start + timedelta(days=cut), deposit),))

    product = D(1)
    for factor in factors:
        product *= factor
    assert perf.twr(period(small)).value == perf.twr(period(large)).value == q(product - 1)
