"""Stored prices: one exact price per symbol and time (SPEC §8.4).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:30:00
"""
from alembic import op
import sqlalchemy as sa
import vbcli.store.columns


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('prices',
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.Column('price', vbcli.store.columns.ExactDecimal(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', vbcli.store.columns.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('symbol', 'at')
    )


def downgrade() -> None:
    op.drop_table('prices')
