"""Specific identification of lots (SPEC §8.3): the lots a sell names, kept with the trade.

`trades.lots` holds a sell's picks as `trd_a:3;trd_b:2` (a lot without `:QTY` takes what is
open of it, up to the sell); empty for buys and for sells closed by the portfolio's method.
Every re-derivation replays them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('trades', sa.Column('lots', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('trades') as batch_op:
        batch_op.drop_column('lots')
