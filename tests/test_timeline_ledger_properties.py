"""Property (issue 10): the same facts inserted in any order end in the same stored state, which
is the replay of the facts in time order, and `vb db check` finds nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_names = itertools.count()

# Every subset of these facts can stand on the timeline: 1 000 opening shares cover every sell (at most
# 8 × 20), 1 000 000 cash every buy and withdrawal, so the order of insertion never causes a refusal.
moment = st.builds(lambda day, minute: T0 + timedelta(days=day, minutes=minute),
                   st.integers(1, 80), st.sampled_from([0, 1, 570, 960]))
money = st.decimals(D("0.01"), D("200"), places=2)
fill = st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 20).map(D), money,
                 st.decimals(D(0), D(5), places=2), moment)
cash = st.tuples(st.sampled_from(["deposit", "withdraw"]), st.decimals(D(1), D(1000), places=2), moment)
dividend = st.tuples(st.just("dividend"), st.decimals(D("0.01"), D("2"), places=2), st.integers(2, 80), st.integers(0, 10))
split = st.tuples(st.just("split"), st.integers(2, 80))


def _distinct_times(items: list[tuple]) -> bool:
    """Facts at the same time replay in record order (SPEC §8.1), so only distinct times make the
    insertion order irrelevant: one dividend per ex-date, one fill or cash move per moment."""
    ex_dates = [i[2] for i in items if i[0] == "dividend"]
    moments = [i[-1] for i in items if i[0] != "dividend"]
    return len(set(ex_dates)) == len(ex_dates) and len(set(moments)) == len(moments)


facts = st.lists(st.one_of(fill, fill, cash, dividend), min_size=1, max_size=7).filter(_distinct_times).flatmap(
    lambda items: st.tuples(st.just(items), st.lists(split, max_size=1)))


def _time_key(item: tuple) -> datetime:
    if item[0] in ("dividend", "split"):
        return T0 + timedelta(days=item[2] if item[0] == "dividend" else item[1])
    return item[-1]


def _record(session: Any, pos: str, item: tuple) -> None:
    from vbcli.services.ledger import dividends, positions, splits, trades

    kind = item[0]
    if kind in ("buy", "sell"):
        trades.add(session, ref=pos, side=kind, qty=item[1], price=item[2], commission=item[3], at=item[4])
    elif kind in ("deposit", "withdraw"):
        positions.move_cash(session, ref=pos, amount=item[1], deposit=kind == "deposit", at=item[2])
    elif kind == "dividend":
        ex = date(2026, 1, 1) + timedelta(days=item[2])
        dividends.add(session, ref=pos, per_share=item[1], ex_date=ex, pay_date=ex + timedelta(days=item[3]))
    else:
        splits.add(session, ref=pos, new=D(2), old=D(1), on=date(2026, 1, 1) + timedelta(days=item[1]))


def _state(session: Any, pos: str) -> tuple:
    from vbcli.services.shared import refs
    from vbcli.store.tables import Trade
    from sqlmodel import select

    row = refs.position(session, pos)
    trades = session.exec(select(Trade).where(Trade.position_id == row.id).order_by(Trade.executed_at, Trade.created_at)).all()
    figures = tuple(getattr(row, name) for name in ("qty", "cash", "cost_basis", "avg_cost", "anchor", "realized_pnl",
                                                    "dividend_receivable", "total_dividends", "total_commission"))
    return figures, [(t.executed_at, t.side, t.qty, t.realized_pnl, t.anchor_before) for t in trades]


@pytest.fixture(scope="module")
def one_ledger(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from vbcli.config import resolve_location
    from vbcli.store.ledger import open_ledger

    ledger = open_ledger(resolve_location(str(tmp_path_factory.mktemp("prop") / "vb.sqlite")))
    yield ledger
    ledger.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=facts, data=st.data())
def test_any_insertion_order_gives_the_time_ordered_state(one_ledger, drawn, data):
    from vbcli.services.ledger import positions
    from vbcli.services.upkeep import dbcheck

    items = [*drawn[0], *drawn[1]]
    shuffled = data.draw(st.permutations(items))
    in_order = sorted(items, key=_time_key)
    names = [f"P{next(_names)}", f"P{next(_names)}"]
    for name, sequence in zip(names, (shuffled, in_order)):
        one_ledger.write(lambda s, name=name: positions.add(s, symbol=name, qty=D(1000), cash=D(1000000), anchor=D(100), at=T0))
        for item in sequence:
            one_ledger.write(lambda s, item=item, name=name: _record(s, name, item))
    with one_ledger.read() as session:
        first, second = _state(session, names[0]), _state(session, names[1])
        assert first == second
        report = dbcheck.check(session)
        assert report["ok"], report["problems"]
