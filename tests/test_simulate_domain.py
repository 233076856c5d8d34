"""The backtest (SPEC §4 `vb simulate`), with every fill and value worked out by hand."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest

from vbcli.domain.numbers import CONTEXT
from vbcli.domain.policy import Guardrails, OrderPolicy
from vbcli.domain.rule import PositionState
from vbcli.domain.simulate import Bar, SimulationResult, simulate, start_from_cash
from vbcli.errors import BadInputData

DAY = datetime.date(2026, 1, 5)
# r = 1, whole shares, no commission, no minimum; default triggers (3 %) and guardrails
# (25–75 %, max_trade 20 %).
POLICY = OrderPolicy(rebalance_ratio=D("1"), commission_rate=D("0"), min_notional=D("0"), qty_step=D("1"))
GUARD = Guardrails()


def bars(*prices: str, dividends: dict[int, str] | None = None) -> list[Bar]:
    dividends = dividends or {}
    return [
        Bar(DAY + datetime.timedelta(days=i), D(p), D(dividends.get(i, "0"))) for i, p in enumerate(prices)
    ]


def five_bar_run() -> SimulationResult:
    start = PositionState(qty=D("50"), cash=D("5000"), anchor=D("100"))
    return simulate(bars("100", "94", "100", "106", "100"), start, POLICY, GUARD)


def test_five_bars_by_hand():
    # Start Q 50, C 5 000, anchor 100; initial capital = 50·100 + 5 000 = 10 000.
    # 1) P 100: change 0 → HOLD. V = 10 000.
    # 2) P 94: −6 % → BUY. V = 4 700 + 5 000 = 9 700; ΔQ = 6·9 700/94² = 58 200/8 836 = 6.58…
    #    → 6 shares (cap 20 %·9 700/94 = 20.6); C = 5 000 − 564 = 4 436, Q 56, anchor 94.
    #    V = 56·94 + 4 436 = 9 700.
    # 3) P 100: +6/94 = +6.38 % → SELL. V = 5 600 + 4 436 = 10 036;
    #    ΔQ = −6·10 036/10 000 = −6.0216 → 6; C = 5 036, Q 50, anchor 100. V = 10 036.
    # 4) P 106: +6 % → SELL. V = 5 300 + 5 036 = 10 336; ΔQ = −6·10 336/11 236 = −5.52 → 5;
    #    C = 5 566, Q 45, anchor 106. V = 10 336.
    # 5) P 100: −6/106 = −5.66 % → BUY. V = 4 500 + 5 566 = 10 066; ΔQ = 6·10 066/10 000
    #    = 6.04 → 6; C = 4 966, Q 51. V = 10 066.
    # Return 10 066/10 000 − 1 = 0.0066. Values 10 000, 9 700, 10 036, 10 336, 10 066:
    # drawdowns 300/10 000 = 0.03 and 270/10 336 = 0.0261… → max 0.03.
    result = five_bar_run()
    assert result.bars == 5
    assert result.trades == 4
    assert [(t["side"], t["qty"], t["price"]) for t in result.trade_log] == [
        ("buy", D("6"), D("94")),
        ("sell", D("6"), D("100")),
        ("sell", D("5"), D("106")),
        ("buy", D("6"), D("100")),
    ]
    assert [v for _, v, _ in result.series] == [D("10000"), D("9700"), D("10036"), D("10336"), D("10066")]
    assert result.final_value == D("10066")
    assert result.ret == D("0.0066")
    assert result.max_drawdown == D("0.03")
    assert result.commission == 0
    assert result.trade_log[-1]["cash_after"] == D("4966")
    assert result.trade_log[-1]["qty_after"] == D("51")


def test_five_bars_buy_and_hold():
    # 10 000 at 100 → 100 shares, 0 cash; values 10 000, 9 400, 10 000, 10 600, 10 000.
    # Return 0; max drawdown 600/10 000 = 0.06; excess return 0.0066 − 0 = 0.0066.
    result = five_bar_run()
    bh = result.buy_and_hold
    assert [b for _, _, b in result.series] == [D("10000"), D("9400"), D("10000"), D("10600"), D("10000")]
    assert bh["final_value"] == D("10000")
    assert bh["return"] == 0
    assert bh["max_drawdown"] == D("0.06")
    assert result.excess_return == D("0.0066")


def test_to_dict_shape_and_rounding():
    data = five_bar_run().to_dict()
    assert set(data) == {
        "bars", "trades", "final_value", "return", "max_drawdown", "volatility", "sharpe",
        "commission", "dividends", "excess_return", "buy_and_hold",
    }  # fmt: skip
    assert set(data["buy_and_hold"]) == {"final_value", "return", "max_drawdown", "volatility", "sharpe"}
    assert data["final_value"] == D("10066.00")
    assert data["return"] == D("0.0066")
    assert "trade_log" not in data
    log = five_bar_run().to_dict(include_trades=True)["trade_log"]
    assert len(log) == 4 and log[0]["date"] == "2026-01-06"


def test_volatility_and_sharpe_by_hand():
    # No anchor → the strategy never trades, so both series are 100 shares at the price.
    # Daily returns +0.1, −0.1, +0.1: mean 1/30; squared deviations (1/15)², (2/15)², (1/15)²
    # sum to 6/225 = 2/75; sample variance (n − 1 = 2) = 1/75.
    # volatility = √(1/75)·√252 = √3.36; sharpe = (1/30)/√(1/75)·√252 = √18 900/30.
    start = PositionState(qty=D("100"), cash=D("0"), anchor=None)
    result = simulate(bars("100", "110", "99", "108.9"), start, POLICY, GUARD)
    assert result.trades == 0
    assert result.volatility is not None and result.sharpe is not None
    assert abs(result.volatility - D("3.36").sqrt(CONTEXT)) < D("1e-40")
    assert abs(result.sharpe - CONTEXT.divide(D("18900").sqrt(CONTEXT), 30)) < D("1e-40")
    assert result.to_dict()["volatility"] == D("1.83303")  # √3.36 = 1.8330302…
    assert result.to_dict()["sharpe"] == D("4.582576")  # 137.4772708…/30 = 4.5825757…
    assert result.buy_and_hold["volatility"] == result.volatility


def test_flat_series_has_no_sharpe():
    start = PositionState(qty=D("100"), cash=D("0"), anchor=None)
    result = simulate(bars("100", "100", "100"), start, POLICY, GUARD)
    assert result.volatility == 0
    assert result.sharpe is None
    single = simulate(bars("100"), start, POLICY, GUARD)
    assert single.volatility is None and single.sharpe is None


def test_start_from_cash():
    # Fractional: 5 000/97 = 51.5463917… → 51.546391 shares (·97 = 4 999.999927),
    # cash 10 000 − 4 999.999927 = 5 000.000073.
    start = start_from_cash(D("10000"), D("97"), OrderPolicy())
    assert (start.qty, start.cash, start.anchor) == (D("51.546391"), D("5000.000073"), D("97"))
    # Whole shares: 51 (·97 = 4 947), cash 5 053; lots of 10: 50, cash 5 150.
    whole = start_from_cash(D("10000"), D("97"), OrderPolicy(qty_step=D("1")))
    assert (whole.qty, whole.cash) == (D("51"), D("5053"))
    lots = start_from_cash(D("10000"), D("97"), OrderPolicy(qty_step=D("1"), lot_size=D("10")))
    assert (lots.qty, lots.cash) == (D("50"), D("5150"))


def test_initial_capital_is_the_base_of_both_returns():
    # Start from 10 000 cash at 97: strategy value at 97 is 10 000; the benchmark buys
    # 10 000/97 = 103.092783 shares (·97 = 9 999.999951), cash 0.000049.
    start = start_from_cash(D("10000"), D("97"), POLICY)
    result = simulate(bars("97", "97"), start, POLICY, GUARD, initial_capital=D("10000"))
    assert result.initial_value == D("10000")
    assert result.ret == 0
    assert result.buy_and_hold["final_value"] == D("10000")


def test_dividend_moves_anchor_and_pays_net_cash():
    # Q 100, C 10 000, anchor 100; bar 2 goes ex 2.00/share, withholding 25 %:
    # anchor 100 → 98; cash += 100·2·0.75 = 150 → 10 150. At P 100: +2/98 = 2.04 % → HOLD.
    # Strategy value 10 000 + 10 150 = 20 150. Benchmark: 20 000/100 = 200 shares,
    # dividend 200·2·0.75 = 300 → 20 300.
    start = PositionState(qty=D("100"), cash=D("10000"), anchor=D("100"))
    result = simulate(bars("100", "100", dividends={1: "2"}), start, POLICY, GUARD)
    assert result.dividends == D("150")
    assert result.trades == 0
    assert result.final_value == D("20150")
    assert result.buy_and_hold["final_value"] == D("20300")


def test_dividend_lowered_anchor_can_trigger_a_sell():
    # Ex 4.00: anchor 96, cash 10 000 + 300 = 10 300; P 100 is +4/96 = 4.17 % → SELL.
    # V = 10 000 + 10 300 = 20 300; ΔQ = (96 − 100)·20 300/10 000 = −8.12 → 8 shares.
    start = PositionState(qty=D("100"), cash=D("10000"), anchor=D("100"))
    result = simulate(bars("100", "100", dividends={1: "4"}), start, POLICY, GUARD)
    assert [(t["side"], t["qty"], t["anchor_before"]) for t in result.trade_log] == [("sell", D("8"), D("96"))]
    assert result.final_value == D("20300")


def test_dividend_on_the_first_bar_is_not_paid():
    # The start is bought at the first bar's price, which is already ex-dividend.
    start = PositionState(qty=D("100"), cash=D("10000"), anchor=D("100"))
    result = simulate(bars("100", dividends={0: "2"}), start, POLICY, GUARD)
    assert result.dividends == 0 and result.final_value == D("20000")


def test_anchor_reset_in_a_backtest():
    # 100 → 160 is +60 % > 50 %: the anchor resets to 160, no trade; 160 → 155.2 is −3 %
    # from the new anchor → BUY (it would be +55 % and a SELL without the reset).
    start = PositionState(qty=D("50"), cash=D("5000"), anchor=D("100"))
    result = simulate(bars("160", "155.2"), start, POLICY, GUARD)
    assert [t["side"] for t in result.trade_log] == ["buy"]
    assert result.trade_log[0]["anchor_before"] == D("160")


def test_commission_is_charged_on_fills():
    # Bar 2 of the five-bar run with a 1 % rate: V 9 700; ΔQ = 6.58 → 6 shares, 564 notional,
    # commission 5.64; cash 5 000 − 569.64 = 4 430.36.
    policy = OrderPolicy(rebalance_ratio=D("1"), commission_rate=D("0.01"), min_notional=D("0"), qty_step=D("1"))
    start = PositionState(qty=D("50"), cash=D("5000"), anchor=D("100"))
    result = simulate(bars("100", "94"), start, policy, GUARD)
    assert result.commission == D("5.64")
    assert result.trade_log[0]["cash_after"] == D("4430.36")


def test_no_bars_is_bad_input():
    with pytest.raises(BadInputData):
        simulate([], PositionState(D("1"), D("1"), anchor=D("1")), POLICY, GUARD)


def test_fifty_thousand_bars_complete():
    # A deterministic zig-zag between 80 and 120 with generator input (no list needed).
    def prices():
        for i in range(50_000):
            step = i % 40
            yield Bar(DAY + datetime.timedelta(days=i), D(80 + (step if step < 20 else 40 - step) * 2))

    seen: list[int] = []
    start = start_from_cash(D("100000"), D("80"), OrderPolicy())
    result = simulate(prices(), start, OrderPolicy(), GUARD, on_bar=seen.append)
    assert result.bars == 50_000 and len(result.series) == 50_000
    assert len(seen) == 50_000 and seen[-1] == 49_999
    assert result.trades > 0
    assert result.max_drawdown >= 0
