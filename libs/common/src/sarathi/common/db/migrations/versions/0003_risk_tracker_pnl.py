"""risk: what a position tracker needs to report P&L after a restart.

risk.position_tracker  + realized_pnl   gross realized P&L of this position (rupees)
                       + realized_base  the contract's realized P&L today when the position opened
                       + buy_value      premium turnover bought (for charges)
                       + sell_value     premium turnover sold (for charges)

Without them a restarted risk service would forget the day's realized losses, and with them the
daily loss limit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(18, 4)
COLUMNS = ("realized_pnl", "realized_base", "buy_value", "sell_value")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column(
            "position_tracker",
            sa.Column(name, MONEY, nullable=False, server_default=sa.text("0")),
            schema="risk",
        )


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("position_tracker", name, schema="risk")
