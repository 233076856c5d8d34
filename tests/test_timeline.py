"""The replay engine (SPEC §8.1, §8.2, §3 revision 2): hand-worked timelines."""

from __future__ import annotations

from datetime import date

import pytest
from timeline_helpers import D, anchor_set, buy, deposit, ex, opening, pay, sell, split, t, withdraw

from vbcli.domain.facts import DividendNotEx, NegativeBalance, SplitNotExact, iso
from vbcli.domain.rederive import Difference, diff_replay
from vbcli.domain.splits import rescale_order
from vbcli.domain.timeline import apply, new_state, replay


def scenario():
    # The sell at 11-20 is recorded before the buy at 11-10 (typed in late, record order last).
    return [
        opening(cash="100000"),
        buy("b1", 10, 100, t(11, 1)),
        sell("s1", 5, 120, t(11, 20)),
        buy("b2", 10, 50, t(11, 10)),
    ]


def test_back_dated_buy_is_replayed_in_time_order():
    # Time order: buy 10@100, buy 10@50 → 20 shares costing 1500, avg 75; sell 5@120:
    # realized (120 − 75)·5 = 225, cost left 1500 − 375 = 1125 for 15 shares (avg 75).
    # cash 100000 − 1000 − 500 + 600 = 99100; the anchor is the last fill in time: 120.
    result = replay(scenario())
    state = result.state
    assert (state.qty, state.cash, state.anchor) == (D(15), D(99100), D(120))
    assert state.avg_cost == D(75) and state.cost_basis == D(1125)
    assert result.fills["s1"].realized_pnl == D(225) and state.realized_pnl == D(225)
    # anchor_before of each fill is the previous fill's price in time order.
    assert [result.fills[k].anchor_before for k in ("b1", "b2", "s1")] == [D(100), D(100), D(50)]


def test_replay_is_independent_of_the_list_order():
    facts = scenario()
    assert replay(facts).state.snapshot() == replay(list(reversed(facts))).state.snapshot()


def test_void_restores_the_previous_fills_anchor():
    # Voiding b2 (leaving it out): the anchor goes back to b1's 100, cash to 99000.
    facts = [opening(), buy("b1", 10, 100, t(11, 1)), buy("b2", 5, 110, t(11, 5))]
    assert replay(facts).state.anchor == D(110)
    voided = replay(facts[:2]).state
    assert (voided.anchor, voided.cash, voided.qty) == (D(100), D(99000), D(10))


def test_cash_amount_is_rounded_half_up_to_cents_but_notional_stays_exact():
    # 3 × 10.005 = 30.015 → cash 30.02; commission 1 → cash 1000 − 31.02 = 968.98.
    result = replay([opening(cash="1000"), buy("b", 3, "10.005", t(11, 1), commission="1")])
    fill = result.fills["b"]
    assert (fill.notional, fill.cash_amount) == (D("30.015"), D("30.02"))
    assert result.state.cash == D("968.98") and result.state.total_commission == D(1)


def test_jpy_cash_amount_rounds_to_whole_yen():
    # 3 × 333.5 = 1000.5 → 1001 yen; sell 1 × 333.5 = 333.5 → 334.  cash 5000 − 1001 + 334 = 4333.
    facts = [opening(cash="5000"), buy("b", 3, "333.5", t(11, 1)), sell("s", 1, "333.5", t(11, 2))]
    state = replay(facts, currency="JPY").state
    assert state.cash == D(4333)


def test_anchor_set_and_dividend_move_the_anchor():
    # buy at 100 → anchor 100; set 90 at 11-02; ex-date 11-05 per share 2 → 88.
    facts = [opening(), buy("b", 1, 100, t(11, 1)), anchor_set(90, t(11, 2, 12)), ex("d", 2, date(2026, 11, 5))]
    assert replay(facts).state.anchor == D(88)


# --- refusals ---------------------------------------------------------------------------


def test_first_negative_cash_time_is_named():
    # cash 1000; buy 10@50 (500 left); back-dated buy 5@50 at 11-10 (250 left) is fine at its
    # own time, but then the withdrawal of 400 at 11-15 finds only 250: that is the first time.
    facts = [opening(cash="1000"), buy("b1", 10, 50, t(11, 1)), withdraw(400, t(11, 15)), buy("b2", 5, 50, t(11, 10))]
    with pytest.raises(NegativeBalance) as caught:
        replay(facts)
    error = caught.value
    assert (error.kind, error.at, error.needed, error.available) == ("cash", t(11, 15), D(400), D(250))
    assert "at 2026-11-15T00:00:00Z" in str(error)


def test_a_back_dated_sell_of_more_than_was_held_then_is_refused_at_its_time():
    # At 11-05 only 10 are held (the buy of 10 more comes at 11-10); the later failure at
    # 11-20 (sell 30 of 20) is not the first, so 11-05 is named.
    facts = [
        opening(), buy("b1", 10, 100, t(11, 1)), buy("b2", 10, 100, t(11, 10)),
        sell("s2", 30, 100, t(11, 20)), sell("s1", 15, 100, t(11, 5, 9, 30)),
    ]
    with pytest.raises(NegativeBalance) as caught:
        replay(facts)
    assert (caught.value.kind, caught.value.at) == ("qty", t(11, 5, 9, 30))
    assert str(caught.value) == "Not enough shares at 2026-11-05T09:30:00Z: selling 15 but the position holds 10 then."


def test_sell_commission_beyond_cash_is_refused():
    # cash 0 after buying; selling 1@1 brings 1 but the commission is 5.
    facts = [opening(cash="100"), buy("b", 1, 100, t(11, 1)), sell("s", 1, 1, t(11, 2), commission="5")]
    with pytest.raises(NegativeBalance) as caught:
        replay(facts)
    assert caught.value.kind == "cash" and caught.value.at == t(11, 2)


def test_payment_before_ex_date_is_refused():
    facts = [opening(qty="10"), pay("d", t(11, 1)), ex("d", 1, date(2026, 11, 5))]
    with pytest.raises(DividendNotEx) as caught:
        replay(facts)
    assert caught.value.kind == "dividend" and caught.value.at == t(11, 1)


def test_iso_names_utc_with_a_z():
    assert iso(t(11, 10, 9, 30)) == "2026-11-10T09:30:00Z"


# --- dividends around fills -------------------------------------------------------------


def dividend_facts(buy_at):
    # 100 opening shares at 10, cash 1000; 20 more bought at `buy_at`; ex-date 11-10, 0.50 a
    # share, 25% withheld; paid 11-20.
    return [opening(qty="100", cash="1000", anchor="10"), buy("b", 20, 10, buy_at),
            ex("d", "0.5", date(2026, 11, 10)), pay("d", t(11, 20))]


def test_buy_on_the_day_before_the_ex_date_is_entitled():
    # 120 shares at the end of 11-09: gross 60, tax 15, net 45; anchor 10 (buy) − 0.5 = 9.5.
    result = replay(dividend_facts(t(11, 9, 23, 59, 59)))
    outcome = result.dividends["d"]
    assert (outcome.entitled_qty, outcome.gross, outcome.tax, outcome.net) == (D(120), D(60), D(15), D(45))
    state = result.state
    assert (state.anchor, state.receivable, state.total_dividends) == (D("9.5"), D(0), D(45))
    assert state.cash == D(1000) - D(200) + D(45)


def test_buy_at_midnight_of_the_ex_date_is_not_entitled():
    # 100 shares: gross 50, tax 12.50, net 37.50; the ex-date anchor 10 − 0.5 applies first,
    # then the buy at 00:00 sets it to 10.
    result = replay(dividend_facts(t(11, 10)))
    outcome = result.dividends["d"]
    assert (outcome.entitled_qty, outcome.gross, outcome.tax, outcome.net) == (D(100), D(50), D("12.50"), D("37.50"))
    assert result.state.anchor == D(10)


def test_receivable_before_payment_and_dividend_applied_once():
    facts = dividend_facts(t(11, 1))[:3] + [ex("d", "0.5", date(2026, 11, 10))]
    state = replay(facts).state
    assert state.receivable == D(45) and state.total_dividends == 0  # 120 × 0.5 × 0.75, once


def test_dividend_tax_rounds_half_up_to_the_minor_unit():
    # USD: 33 × 0.07 = 2.31; × 15% = 0.3465 → 0.35; net 1.96.  JPY: 33 × 7 = 231; 34.65 → 35; 196.
    usd = replay([opening(qty="33"), ex("d", "0.07", date(2026, 11, 2), withholding="0.15")]).dividends["d"]
    assert (usd.gross, usd.tax, usd.net) == (D("2.31"), D("0.35"), D("1.96"))
    jpy = replay([opening(qty="33"), ex("d", "7", date(2026, 11, 2), withholding="0.15")], currency="JPY").dividends["d"]
    assert (jpy.gross, jpy.tax, jpy.net) == (D(231), D(35), D(196))


# --- splits -----------------------------------------------------------------------------


def test_split_and_dividend_on_the_same_date():
    # 100 @40; 4:1 at the start of 11-10 → 400 shares, anchor 10; then the ex-date 11-10
    # pays 0.25 on 400: gross 100, tax 25, net 75; anchor 9.75. Lot cost 4000 unchanged.
    result = replay([opening(qty="100", cash="0", anchor="40"), ex("d", "0.25", date(2026, 11, 10)), split("x", 4, 1, date(2026, 11, 10))])
    state = result.state
    assert (state.qty, state.anchor, state.cost_basis, state.avg_cost) == (D(400), D("9.75"), D(4000), D(10))
    assert result.dividends["d"].entitled_qty == D(400) and result.dividends["d"].net == D(75)
    assert result.splits["x"].qty_before == D(100) and result.splits["x"].anchor_after == D(10)


def test_dividend_before_a_split_is_on_pre_split_shares():
    # ex 11-09 at 1 a share on 100: gross 100; anchor 40 → 39; 4:1 on 11-10 → 9.75, 400 shares.
    result = replay([opening(qty="100", cash="0", anchor="40"), ex("d", 1, date(2026, 11, 9)), split("x", 4, 1, date(2026, 11, 10))])
    assert result.dividends["d"].gross == D(100)
    assert (result.state.qty, result.state.anchor) == (D(400), D("9.75"))


def test_reverse_split_then_dividend():
    # 1:10 on 100 @40 → 10 shares at 400 (cost 4000 kept); ex 11-11 at 2 → gross 20, net 15.
    result = replay([opening(qty="100", cash="0", anchor="40"), split("r", 1, 10, date(2026, 11, 10)), ex("d", 2, date(2026, 11, 11))])
    state = result.state
    assert (state.qty, state.avg_cost, state.cost_basis, state.anchor) == (D(10), D(400), D(4000), D(398))
    assert (result.dividends["d"].gross, result.dividends["d"].net) == (D(20), D(15))
    [lot] = state.book.open_lots()
    assert (lot.qty, lot.cost, lot.cost_per_share) == (D(10), D(4000), D(400))


def test_same_split_twice_changes_nothing():
    facts = [opening(qty="100"), split("x", 4, 1, date(2026, 11, 10)), split("x", 4, 1, date(2026, 11, 10))]
    assert replay(facts).state.qty == D(400)


def test_split_leaving_a_fraction_is_refused_naming_cash_in_lieu():
    # 100 × 1/3 is not a finite decimal.
    with pytest.raises(SplitNotExact) as caught:
        replay([opening(qty="100"), split("x", 1, 3, date(2026, 11, 10))])
    assert caught.value.at == t(11, 10) and "cash-in-lieu" in str(caught.value)


def test_split_price_rounds_to_12_decimals():
    # anchor 100 under 3:1 = 33.3333… → 33.333333333333; the lot cost 10000 stays exact.
    state = replay([opening(qty="100"), split("x", 3, 1, date(2026, 11, 10))]).state
    assert state.anchor == D("33.333333333333") and state.cost_basis == D(10000) and state.qty == D(300)


def test_rescale_open_order():
    # 3:1: remaining 7 → 21, limit 100 → 33.333333333333; 2:1 limit 100 → 50; 1:3 of 7 refused.
    three = split("x", 3, 1, date(2026, 11, 10))
    assert rescale_order(D(7), D(100), three) == type(rescale_order(D(7), None, three))(D(21), D("33.333333333333"))
    assert rescale_order(D(7), D(100), split("y", 2, 1, date(2026, 11, 10))).limit == D(50)
    assert rescale_order(D(7), None, three).limit is None
    with pytest.raises(SplitNotExact):
        rescale_order(D(7), D(100), split("z", 1, 3, date(2026, 11, 10)))


# --- checkpoints, appends, diffs --------------------------------------------------------


def test_resume_from_a_checkpoint_equals_a_full_replay():
    facts = scenario() + [ex("d", 1, date(2026, 11, 15)), pay("d", t(11, 25)), deposit(50, t(11, 30))]
    full = replay(facts)
    before = replay(facts, until=t(11, 12)).state.snapshot()  # the checkpoint: state before 11-12
    later = [f for f in facts if f.at >= t(11, 12)]
    resumed = replay(later, start=before)
    assert resumed.state.snapshot() == full.state.snapshot()
    assert resumed.fills["s1"] == full.fills["s1"]


def test_apply_appends_one_fact_and_refuses_one_out_of_order():
    facts = scenario()
    state = new_state()
    for fact in sorted(facts, key=lambda f: f.sort_key()):
        apply(state, fact)
    assert state.snapshot() == replay(facts).state.snapshot()
    with pytest.raises(ValueError):
        apply(state, buy("late", 1, 1, t(11, 2)))


def test_diff_lists_changed_figures_as_data():
    stored = {"qty": D(15), "cash": D("99100.00"), "anchor": D(50), "avg_cost": D("66.6666666667")}
    trades = {"s1": {"realized_pnl": D(350), "anchor_before": D(50)}, "gone": {"realized_pnl": D(0)}}
    diffs = diff_replay(stored, trades, replay(scenario()))
    assert diffs == [
        Difference("anchor", D(50), D(120)),
        Difference("avg_cost", D("66.6666666667"), D(75)),
        Difference("trade s1: realized_pnl", D(350), D(225)),
        Difference("trade gone: status", None, None),
    ]
