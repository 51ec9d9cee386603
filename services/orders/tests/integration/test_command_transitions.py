"""The store writes a command's status only along the transition table (real PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sarathi.common.clock import FakeClock
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain.commands import CommandStatus, IllegalTransitionError

from .harness import a_stored_submit

pytestmark = pytest.mark.integration

START = datetime(2026, 9, 15, 4, 0, tzinfo=UTC)


async def test_an_illegal_command_move_is_refused_and_writes_nothing(store: Store) -> None:
    clock = FakeClock(START)
    await a_stored_submit(store, "sub-0001", clock)
    async with store.transaction() as tx:
        await tx.update_command("sub-0001", clock.now(), CommandStatus.SENDING, attempts=1)
        await tx.update_command("sub-0001", clock.now(), CommandStatus.REJECTED, detail="margin")

    with pytest.raises(IllegalTransitionError, match="command sub-0001: REJECTED → PLACED is not allowed"):
        async with store.transaction() as tx:
            await tx.update_command("sub-0001", clock.now(), CommandStatus.PLACED, broker_order_id="B9")

    async with store.transaction() as tx:
        row = await tx.command("sub-0001")
    assert row is not None
    assert (row.status, row.broker_order_id, row.detail) == (CommandStatus.REJECTED, None, "margin")


async def test_moving_a_command_that_was_never_stored_is_an_error(store: Store) -> None:
    with pytest.raises(LookupError, match="no command sub-0404"):
        async with store.transaction() as tx:
            await tx.update_command("sub-0404", START, CommandStatus.DONE)
