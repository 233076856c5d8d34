"""Builders for timeline tests: short names for facts at 2026 dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

from vbcli.domain.facts import AnchorSet, Deposit, DividendEx, DividendPay, Fill, LotPick, Opening, Split, Withdrawal

_seq = count(1)


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


def t(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def opening(qty="0", cash="100000", cost=None, anchor="100", at=None) -> Opening:
    return Opening(at=at or t(10, 1), qty=D(qty), cash=D(cash), cost_per_share=D(cost or anchor), anchor=D(anchor), seq=0)


def buy(trade_id: str, qty, price, at: datetime, commission="0") -> Fill:
    return Fill(trade_id=trade_id, side="buy", qty=D(qty), price=D(price), commission=D(commission), at=at, seq=next(_seq))


def sell(trade_id: str, qty, price, at: datetime, commission="0", lots=()) -> Fill:
    picks = tuple(LotPick(lot, None if q is None else D(q)) for lot, q in lots)
    return Fill(trade_id=trade_id, side="sell", qty=D(qty), price=D(price), commission=D(commission), at=at, seq=next(_seq), lots=picks)


def deposit(amount, at: datetime) -> Deposit:
    return Deposit(amount=D(amount), at=at, seq=next(_seq))


def withdraw(amount, at: datetime) -> Withdrawal:
    return Withdrawal(amount=D(amount), at=at, seq=next(_seq))


def ex(dividend_id: str, per_share, on: date, withholding="0.25") -> DividendEx:
    return DividendEx(dividend_id=dividend_id, per_share=D(per_share), withholding=D(withholding), ex_date=on, seq=next(_seq))


def pay(dividend_id: str, at: datetime) -> DividendPay:
    return DividendPay(dividend_id=dividend_id, at=at, seq=next(_seq))


def split(split_id: str, new, old, on: date) -> Split:
    return Split(split_id=split_id, new=D(new), old=D(old), on=on, seq=next(_seq))


def anchor_set(price, at: datetime) -> AnchorSet:
    return AnchorSet(price=D(price), at=at, seq=next(_seq))
