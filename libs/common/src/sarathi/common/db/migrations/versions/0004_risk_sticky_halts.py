"""risk: sticky halts that survive a restart.

risk.trading_halt  one row per halt: a daily-loss halt holds for its trading day (IST), a kill
                   until an operator clears it with a reason (cleared_at, cleared_by, clear_reason)

Without it `resume` re-derived "breached" from the current P&L, so a halt could be lifted once the
exits filled at a smaller loss, and a restarted risk service forgot a kill.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trading_halt",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("halted_at", TIMESTAMPTZ, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cleared_at", TIMESTAMPTZ, nullable=True),
        sa.Column("cleared_by", sa.String(), nullable=True),
        sa.Column("clear_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("cause IN ('DAILY_LOSS', 'KILL')", name=op.f("ck_trading_halt_cause")),
        sa.CheckConstraint(
            "(cleared_at IS NULL) = (cleared_by IS NULL AND clear_reason IS NULL)",
            name=op.f("ck_trading_halt_cleared_whole"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_halt")),
        schema="risk",
    )
    op.create_index(
        op.f("ix_trading_halt_cause_trading_day"), "trading_halt", ["cause", "trading_day"], schema="risk"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_trading_halt_cause_trading_day"), table_name="trading_halt", schema="risk")
    op.drop_table("trading_halt", schema="risk")
