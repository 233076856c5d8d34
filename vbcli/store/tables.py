"""SQLModel tables. Migrations in `store/migrations` own the schema; a test keeps them equal."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Date, Index, Text, text
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from vbcli.store.columns import ExactDecimal, UTCDateTime

SCHEMA_REVISION = "0005"  # the Alembic head this code writes; newer ledgers are refused
APP_MARKER = "vb-ledger"


class _Table(SQLModel):
    """Base of the tables: pydantic builds each model's validators on first use, not at import
    (table models are not validated on construction, so most commands never need them)."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]


def _dec(**kwargs: object) -> object:
    return Field(sa_type=ExactDecimal, **kwargs)


def _ts(**kwargs: object) -> object:
    return Field(sa_type=UTCDateTime, **kwargs)


class Meta(_Table, table=True):
    """Identifies the file as a vb ledger."""

    __tablename__ = "vb_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=256)


class LedgerHead(_Table, table=True):
    """One row: the end of the audit hash chain. Writers lock it first (PostgreSQL's write lock)."""

    __tablename__ = "ledger_head"
    id: int = Field(primary_key=True)
    event_count: int = 0
    last_hash: str = Field(default="", max_length=64)


class Portfolio(_Table, table=True):
    __tablename__ = "portfolios"
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(unique=True, max_length=200)
    currency: str = Field(default="USD", max_length=8)
    description: str = Field(default="", max_length=2000)
    cost_basis: str = Field(default="average", max_length=8, nullable=True)  # average | fifo | lifo | hifo (0002 added it)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Position(_Table, table=True):
    """Columns added by revision 0002 are nullable in the schema (added in place); vb always fills them."""

    __tablename__ = "positions"
    __table_args__ = (
        Index(
            "ux_positions_open_symbol",
            "portfolio_id",
            "symbol",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_positions_symbol", "symbol"),
    )
    id: str = Field(primary_key=True, max_length=40)
    portfolio_id: str = Field(foreign_key="portfolios.id", index=True, max_length=40)
    symbol: str = Field(max_length=32)
    status: str = Field(default="open", max_length=16)
    qty: Decimal = _dec()
    cash: Decimal = _dec()
    anchor: Optional[Decimal] = _dec(default=None, nullable=True)
    avg_cost: Optional[Decimal] = _dec(default=None, nullable=True)  # derived: cost_basis / qty, 10 decimals
    cost_basis: Decimal = _dec(default=Decimal(0), nullable=True)  # exact total cost of the shares held
    dividend_receivable: Decimal = _dec(default=Decimal(0))
    realized_pnl: Decimal = _dec(default=Decimal(0))
    total_commission: Decimal = _dec(default=Decimal(0))
    total_dividends: Decimal = _dec(default=Decimal(0))
    opening_qty: Decimal = _dec()
    opening_cash: Decimal = _dec()
    opening_avg_cost: Optional[Decimal] = _dec(default=None, nullable=True)
    opening_anchor: Optional[Decimal] = _dec(default=None, nullable=True)
    opened_at: datetime = _ts(nullable=True)  # effective time of the opening (`positions add --at`)
    trigger_up: Decimal = _dec()
    trigger_down: Decimal = _dec()
    rebalance_ratio: Decimal = _dec()
    commission_rate: Decimal = _dec()
    min_qty: Decimal = _dec()
    min_notional: Decimal = _dec()
    lot_size: Decimal = _dec()
    qty_step: Decimal = _dec()
    below_min: str = Field(max_length=8)
    auto_rebalance: bool = True
    anchor_reset: Decimal = _dec()
    min_stock_alloc: Decimal = _dec()
    max_stock_alloc: Decimal = _dec()
    max_trade: Decimal = _dec()
    max_orders_per_day: int = 5
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    closed_at: Optional[datetime] = _ts(default=None, nullable=True)


class Order(_Table, table=True):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_position_created", "position_id", "created_at"),)
    id: str = Field(primary_key=True, max_length=40)
    position_id: str = Field(foreign_key="positions.id", max_length=40)
    side: str = Field(max_length=4)
    qty: Decimal = _dec()
    limit_price: Optional[Decimal] = _dec(default=None, nullable=True)
    status: str = Field(default="open", max_length=20)
    filled_qty: Decimal = _dec(default=Decimal(0))
    avg_fill_price: Optional[Decimal] = _dec(default=None, nullable=True)
    commission_rate: Decimal = _dec()
    key: Optional[str] = Field(default=None, max_length=200)
    note: str = Field(default="", max_length=2000)
    forced: bool = False
    source: str = Field(default="place", max_length=16)  # place | evaluate | trade | import
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Trade(_Table, table=True):
    __tablename__ = "trades"
    __table_args__ = (
        Index("ix_trades_position_executed", "position_id", "executed_at", "id"),  # time, then record order (0005)
        Index("ix_trades_executed", "executed_at"),
        Index("ix_trades_order", "order_id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    order_id: str = Field(foreign_key="orders.id", max_length=40)
    position_id: str = Field(foreign_key="positions.id", max_length=40)
    symbol: str = Field(max_length=32)
    side: str = Field(max_length=4)
    qty: Decimal = _dec()
    price: Decimal = _dec()
    commission: Decimal = _dec()
    notional: Decimal = _dec()  # q·P exactly
    cash_amount: Decimal = _dec(nullable=True)  # the cash it moved before commission: q·P half-up to the minor unit
    realized_pnl: Decimal = _dec()
    anchor_before: Optional[Decimal] = _dec(default=None, nullable=True)
    executed_at: datetime = _ts()
    status: str = Field(default="executed", max_length=16)
    lots: Optional[str] = Field(default=None, sa_type=Text, nullable=True)  # a sell's named lots: trd_a:3;trd_b (0004)
    key: Optional[str] = Field(default=None, max_length=200)
    void_reason: str = Field(default="", max_length=2000)
    voided_at: Optional[datetime] = _ts(default=None, nullable=True)
    created_at: datetime = _ts()


class CashFlow(_Table, table=True):
    """Deposits, withdrawals and dividend payments; `ts` is the effective time (`--at`, pay date)."""

    __tablename__ = "cash_flows"
    __table_args__ = (Index("ix_cash_flows_position", "position_id", "ts"),)
    id: str = Field(primary_key=True, max_length=40)
    position_id: str = Field(foreign_key="positions.id", max_length=40)
    kind: str = Field(max_length=16)  # deposit | withdrawal | dividend
    amount: Decimal = _dec()  # signed: withdrawals are negative
    ts: datetime = _ts()
    ref_id: Optional[str] = Field(default=None, max_length=40)


class Dividend(_Table, table=True):
    __tablename__ = "dividends"
    __table_args__ = (Index("ix_dividends_position", "position_id", "ex_date"),)
    id: str = Field(primary_key=True, max_length=40)
    position_id: str = Field(foreign_key="positions.id", max_length=40)
    per_share: Decimal = _dec()
    ex_date: date = Field(sa_type=Date)
    pay_date: Optional[date] = Field(default=None, sa_type=Date, nullable=True)
    withholding: Decimal = _dec()
    qty: Optional[Decimal] = _dec(default=None, nullable=True)  # shares held on the ex-date
    gross: Optional[Decimal] = _dec(default=None, nullable=True)
    tax: Optional[Decimal] = _dec(default=None, nullable=True)
    net: Optional[Decimal] = _dec(default=None, nullable=True)
    status: str = Field(default="announced", max_length=16)
    key: Optional[str] = Field(default=None, max_length=200)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Split(_Table, table=True):
    """A NEW:OLD split at the start of `effective_date`; `applied` once it is on the timeline."""

    __tablename__ = "splits"
    __table_args__ = (Index("ix_splits_position", "position_id", "effective_date"),)
    id: str = Field(primary_key=True, max_length=40)
    position_id: str = Field(foreign_key="positions.id", max_length=40)
    ratio_new: Decimal = _dec()
    ratio_old: Decimal = _dec()
    effective_date: date = Field(sa_type=Date)
    status: str = Field(default="announced", max_length=16)  # announced | applied
    key: Optional[str] = Field(default=None, max_length=200)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class AnchorReset(_Table, table=True):
    """An anchor set by hand (`positions set --anchor`, `evaluate --place` ANCHOR_RESET) at `at`."""

    __tablename__ = "anchor_resets"
    __table_args__ = (Index("ix_anchor_resets_position", "position_id", "at"),)
    id: str = Field(primary_key=True, max_length=40)
    position_id: str = Field(foreign_key="positions.id", max_length=40)
    price: Decimal = _dec()
    at: datetime = _ts()
    cause: str = Field(default="set", max_length=16)  # set | evaluate | migration


class PositionCheckpoint(_Table, table=True):
    """A replay state after `facts` facts, the last at `at`: a back-dated write resumes here."""

    __tablename__ = "position_checkpoints"
    __table_args__ = (Index("ix_position_checkpoints_position", "position_id", "at"),)
    id: str = Field(primary_key=True, max_length=40)
    position_id: str = Field(foreign_key="positions.id", max_length=40)
    at: datetime = _ts()
    facts: int = 0
    state: str = Field(sa_type=Text)


class Event(_Table, table=True):
    """The audit trail. `seq` orders the hash chain; `hash` covers the row and the previous hash."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_position_ts", "position_id", "ts"),
        Index("ix_events_ts", "ts"),
        Index("ix_events_type", "type"),
    )
    id: str = Field(primary_key=True, max_length=40)
    seq: int = Field(unique=True)
    ts: datetime = _ts()
    type: str = Field(max_length=40)
    position_id: Optional[str] = Field(default=None, max_length=40)
    order_id: Optional[str] = Field(default=None, max_length=40)
    trade_id: Optional[str] = Field(default=None, max_length=40)
    message: str = Field(default="", max_length=4000)
    data: str = Field(default="{}", sa_type=Text)
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(max_length=64)


class IdempotencyKey(_Table, table=True):
    """A `--key` and the first result of its request, replayed on retries."""

    __tablename__ = "idempotency_keys"
    key: str = Field(primary_key=True, max_length=200)
    command: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    result: str = Field(sa_type=Text)
    created_at: datetime = _ts()


class Price(_Table, table=True):
    """A stored price of a symbol at a time (SPEC §8.4); one per symbol and time."""

    __tablename__ = "prices"
    symbol: str = Field(primary_key=True, max_length=32)
    at: datetime = _ts(primary_key=True)
    price: Decimal = _dec()
    source: str = Field(default="add", max_length=16)  # add | import
    created_at: datetime = _ts()
