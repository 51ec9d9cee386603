"""orders: commands, the event outbox, and the order columns that events need.

orders.command   one row per bus command, stored before any broker call (unique command id)
orders.outbox    events written with the state they describe, published afterwards
orders.order     + correlation_id (bus), underlying, exit_reason

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPTZ = sa.DateTime(timezone=True)
JSON_DOCUMENT = postgresql.JSONB(none_as_null=True, astext_type=sa.Text())
COMMAND_KINDS = ("SUBMIT", "EXIT", "CANCEL", "KILL")
COMMAND_STATUSES = ("RECEIVED", "SENDING", "UNKNOWN", "PLACED", "REJECTED", "DONE", "FAILED")


def _one_of(column: str, values: Sequence[str], name: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(name))


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False)


def upgrade() -> None:
    op.create_table(
        "command",
        _id(),
        sa.Column("command_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("broker_order_id", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, nullable=False),
        _one_of("kind", COMMAND_KINDS, "ck_command_kind"),
        _one_of("status", COMMAND_STATUSES, "ck_command_status"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command")),
        sa.UniqueConstraint("command_id", name=op.f("uq_command_command_id")),
        schema="orders",
    )
    op.create_table(
        "outbox",
        _id(),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("published_at", TIMESTAMPTZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
        schema="orders",
    )
    op.create_index(op.f("ix_outbox_published_at"), "outbox", ["published_at"], schema="orders")
    op.add_column("order", sa.Column("correlation_id", sa.String(), nullable=True), schema="orders")
    op.add_column("order", sa.Column("underlying", sa.String(), nullable=True), schema="orders")
    op.add_column("order", sa.Column("exit_reason", sa.String(), nullable=True), schema="orders")


def downgrade() -> None:
    op.drop_column("order", "exit_reason", schema="orders")
    op.drop_column("order", "underlying", schema="orders")
    op.drop_column("order", "correlation_id", schema="orders")
    op.drop_index(op.f("ix_outbox_published_at"), table_name="outbox", schema="orders")
    op.drop_table("outbox", schema="orders")
    op.drop_table("command", schema="orders")
