"""execution: a decision may also read REJECTED (the broker refused a placed entry).

execution.decision  outcome IN ('PLACED', 'REFUSED', 'REJECTED'): a REJECTED row follows the
                    PLACED row of the same signal, with Dhan's code and reason, when `orders`
                    reports OrderRejected for the entry (its pyramiding slot is then freed)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_decision_outcome"


def upgrade() -> None:
    op.drop_constraint(op.f(_NAME), "decision", schema="execution", type_="check")
    op.create_check_constraint(
        op.f(_NAME), "decision", "outcome IN ('PLACED', 'REFUSED', 'REJECTED')", schema="execution"
    )


def downgrade() -> None:
    op.execute("DELETE FROM execution.decision WHERE outcome = 'REJECTED'")
    op.drop_constraint(op.f(_NAME), "decision", schema="execution", type_="check")
    op.create_check_constraint(op.f(_NAME), "decision", "outcome IN ('PLACED', 'REFUSED')", schema="execution")
