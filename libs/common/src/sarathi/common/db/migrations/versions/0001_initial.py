"""Initial schema: one PostgreSQL schema per owner and their first tables.

refdata   instrument, derivative, sync_run      (the instrument-sync job)
orders    order, fill                           (orders)
risk      position_tracker, audit_log           (risk)
signals   signal                                (signals)
execution decision                              (execution)

Money and prices are NUMERIC(18, 4), timestamps timestamptz, documents JSONB. Constraint and index
names are spelled out, wrapped in `op.f()` so the naming convention does not rename them again.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = ("refdata", "orders", "risk", "signals", "execution")
MONEY = sa.Numeric(precision=18, scale=4)
TIMESTAMPTZ = sa.DateTime(timezone=True)
JSON_DOCUMENT = postgresql.JSONB(none_as_null=True, astext_type=sa.Text())


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False)


def upgrade() -> None:
    for schema in SCHEMAS:
        op.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    _create_refdata()
    _create_orders()
    _create_risk()
    _create_signals()
    _create_execution()


def downgrade() -> None:
    op.drop_table("decision", schema="execution")
    op.drop_table("signal", schema="signals")
    op.drop_table("audit_log", schema="risk")
    op.drop_table("position_tracker", schema="risk")
    op.drop_table("fill", schema="orders")
    op.drop_table("order", schema="orders")
    op.drop_table("sync_run", schema="refdata")
    op.drop_table("derivative", schema="refdata")
    op.drop_table("instrument", schema="refdata")
    # Without CASCADE: a schema holding objects this revision did not create is left alone (and
    # the downgrade fails loudly) rather than silently emptied.
    for schema in reversed(SCHEMAS):
        op.execute(sa.schema.DropSchema(schema))


def _create_refdata() -> None:
    op.create_table(
        "instrument",
        _id(),
        sa.Column("security_id", sa.String(), nullable=False),
        sa.Column("exchange_segment", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("instrument_kind", sa.String(), nullable=False),
        sa.Column("tick_size", MONEY, nullable=False),
        sa.Column("lot_size", sa.Integer(), nullable=False),
        sa.Column("synced_at", TIMESTAMPTZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instrument")),
        sa.UniqueConstraint(
            "exchange_segment", "security_id", name=op.f("uq_instrument_exchange_segment_security_id")
        ),
        schema="refdata",
    )
    op.create_index(op.f("ix_instrument_symbol"), "instrument", ["symbol"], schema="refdata")

    op.create_table(
        "derivative",
        _id(),
        sa.Column("security_id", sa.String(), nullable=False),
        sa.Column("exchange_segment", sa.String(), nullable=False),
        sa.Column("underlying", sa.String(), nullable=False),
        sa.Column("underlying_security_id", sa.String(), nullable=True),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("strike", MONEY, nullable=False),
        sa.Column("option_type", sa.String(), nullable=False),
        sa.Column("lot_size", sa.Integer(), nullable=False),
        sa.Column("tick_size", MONEY, nullable=False),
        sa.Column("freeze_quantity", sa.Integer(), nullable=True),
        sa.Column("trading_symbol", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("synced_at", TIMESTAMPTZ, nullable=False),
        sa.CheckConstraint("option_type IN ('CE', 'PE')", name=op.f("ck_derivative_option_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derivative")),
        sa.UniqueConstraint(
            "exchange_segment",
            "security_id",
            "expiry",
            name=op.f("uq_derivative_exchange_segment_security_id_expiry"),
        ),
        schema="refdata",
    )
    op.create_index(
        op.f("ix_derivative_underlying_expiry_option_type_strike"),
        "derivative",
        ["underlying", "expiry", "option_type", "strike"],
        schema="refdata",
    )

    op.create_table(
        "sync_run",
        _id(),
        sa.Column("started_at", TIMESTAMPTZ, nullable=False),
        sa.Column("finished_at", TIMESTAMPTZ, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("instrument_rows", sa.Integer(), nullable=False),
        sa.Column("derivative_rows", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('RUNNING', 'SUCCEEDED', 'FAILED')", name=op.f("ck_sync_run_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
        schema="refdata",
    )


def _create_orders() -> None:
    op.create_table(
        "order",
        _id(),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("broker_order_id", sa.String(), nullable=True),
        sa.Column("command_id", sa.String(), nullable=False),
        sa.Column("security_id", sa.String(), nullable=False),
        sa.Column("exchange_segment", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("product", sa.String(), nullable=False),
        sa.Column("order_type", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("trigger_price", MONEY, nullable=True),
        sa.Column("target_price", MONEY, nullable=True),
        sa.Column("stop_loss_price", MONEY, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("leg_name", sa.String(), nullable=True),
        sa.Column("parent_order_id", sa.BigInteger(), nullable=True),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("average_price", MONEY, nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, nullable=False),
        sa.CheckConstraint("side IN ('BUY', 'SELL')", name=op.f("ck_order_side")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_quantity_positive")),
        sa.CheckConstraint(
            "filled_quantity BETWEEN 0 AND quantity", name=op.f("ck_order_filled_within_quantity")
        ),
        sa.ForeignKeyConstraint(
            ["parent_order_id"], ["orders.order.id"], name=op.f("fk_order_parent_order_id_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_order_client_order_id")),
        schema="orders",
    )
    op.create_index(op.f("ix_order_broker_order_id"), "order", ["broker_order_id"], schema="orders")
    op.create_index(op.f("ix_order_command_id"), "order", ["command_id"], schema="orders")
    op.create_index(op.f("ix_order_parent_order_id"), "order", ["parent_order_id"], schema="orders")

    op.create_table(
        "fill",
        _id(),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("broker_trade_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("traded_at", TIMESTAMPTZ, nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_fill_quantity_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order.id"], name=op.f("fk_fill_order_id_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fill")),
        sa.UniqueConstraint("order_id", "broker_trade_id", name=op.f("uq_fill_order_id_broker_trade_id")),
        schema="orders",
    )


def _create_risk() -> None:
    op.create_table(
        "position_tracker",
        _id(),
        sa.Column("security_id", sa.String(), nullable=False),
        sa.Column("exchange_segment", sa.String(), nullable=False),
        sa.Column("underlying", sa.String(), nullable=False),
        sa.Column("entry_order_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("average_entry", MONEY, nullable=False),
        sa.Column("high_water_mark", MONEY, nullable=True),
        sa.Column("trail_armed", sa.Boolean(), nullable=False),
        sa.Column("exit_reason", sa.String(), nullable=True),
        sa.Column("opened_at", TIMESTAMPTZ, nullable=False),
        sa.Column("closed_at", TIMESTAMPTZ, nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.CheckConstraint(
            "status IN ('OPEN', 'CLOSING', 'CLOSED')", name=op.f("ck_position_tracker_status")
        ),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_position_tracker_quantity_not_negative")),
        sa.CheckConstraint(
            "status <> 'CLOSED' OR closed_at IS NOT NULL",
            name=op.f("ck_position_tracker_closed_has_closed_at"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_tracker")),
        sa.UniqueConstraint("entry_order_id", name=op.f("uq_position_tracker_entry_order_id")),
        schema="risk",
    )
    op.create_index(
        op.f("ix_position_tracker_status_underlying"),
        "position_tracker",
        ["status", "underlying"],
        schema="risk",
    )
    op.create_index(
        op.f("ix_position_tracker_correlation_id"), "position_tracker", ["correlation_id"], schema="risk"
    )

    op.create_table(
        "audit_log",
        _id(),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("occurred_at", TIMESTAMPTZ, nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("remote_address", sa.String(), nullable=True),
        sa.Column("old_state", JSON_DOCUMENT, nullable=True),
        sa.Column("new_state", JSON_DOCUMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema="risk",
    )
    op.create_index(op.f("ix_audit_log_occurred_at"), "audit_log", ["occurred_at"], schema="risk")


def _create_signals() -> None:
    op.create_table(
        "signal",
        _id(),
        sa.Column("signal_id", sa.String(), nullable=False),
        sa.Column("underlying", sa.String(), nullable=False),
        sa.Column("strategy", sa.String(), nullable=False),
        sa.Column("bar_close_at", TIMESTAMPTZ, nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("indicators", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.CheckConstraint(
            "direction IN ('BULLISH', 'BEARISH', 'NEUTRAL')", name=op.f("ck_signal_direction")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal")),
        sa.UniqueConstraint("signal_id", name=op.f("uq_signal_signal_id")),
        schema="signals",
    )
    op.create_index(
        op.f("ix_signal_underlying_bar_close_at"), "signal", ["underlying", "bar_close_at"], schema="signals"
    )


def _create_execution() -> None:
    op.create_table(
        "decision",
        _id(),
        sa.Column("signal_id", sa.String(), nullable=False),
        sa.Column("underlying", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("command_id", sa.String(), nullable=True),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.Column("decided_at", TIMESTAMPTZ, nullable=False),
        sa.CheckConstraint("outcome IN ('PLACED', 'REFUSED')", name=op.f("ck_decision_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        schema="execution",
    )
    op.create_index(op.f("ix_decision_signal_id"), "decision", ["signal_id"], schema="execution")
    op.create_index(
        op.f("ix_decision_underlying_decided_at"),
        "decision",
        ["underlying", "decided_at"],
        schema="execution",
    )
