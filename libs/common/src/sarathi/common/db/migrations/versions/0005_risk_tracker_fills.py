"""risk: a position tracker keeps its fills, so its P&L and charges are counted per order.

risk.position_tracker  + fills              every fill of the position: key, order, side, quantity,
                                            price (JSONB array; `[]` on older rows)
                       realized_base     -> contract_realized: the contract's realized P&L today
                                            as of the latest position event (older rows: as of
                                            the open, which risk converts when it loads them)

Charges are ₹20 brokerage per executed order; the sums of turnover per side that trackers kept
could not say how many orders a position took (pyramids, split exits, super-order legs), so risk
counted two where the report counted each order (issue 15, item 3).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "position_tracker",
        sa.Column("fills", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema="risk",
    )
    op.alter_column("position_tracker", "realized_base", new_column_name="contract_realized", schema="risk")


def downgrade() -> None:
    op.alter_column("position_tracker", "contract_realized", new_column_name="realized_base", schema="risk")
    op.drop_column("position_tracker", "fills", schema="risk")
