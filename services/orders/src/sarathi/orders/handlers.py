"""The command handler of `ORDER_CMD`: decode → store the command → act → (the bus acks).

Each command is stored first (unique by its id), so a redelivery finds its row and resumes from
the row's status instead of acting twice. The handler returns only when the outcome and its
events are in the database; raising makes the bus redeliver the command after a backoff.
Submits wait for the start-up reconciliation (execution should not send any before it, but
orders does not trust that).
"""

from __future__ import annotations

import asyncio

from sarathi.common.clock import Clock
from sarathi.common.dhan.errors import DhanRejectedError
from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import Leg
from sarathi.common.logging import bound, get_logger
from sarathi.common.messages.base import Message
from sarathi.common.messages.orders import CancelOrder, ExitPosition, OrderCommand, SubmitEntry
from sarathi.orders.adapters.broker import is_nothing_to_cancel
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import FINISHED, CommandKind, CommandStatus
from sarathi.orders.domain.order_spec import entry_spec
from sarathi.orders.exits import ExitProtocol
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.placement import Placement
from sarathi.orders.ports import Broker, Placed
from sarathi.orders.waiting import wait_event

log = get_logger(__name__)


class NotReconciledError(RuntimeError):
    """A submit arrived before the start-up reconciliation succeeded: redeliver it later."""


class CommandHandler:
    def __init__(
        self,
        store: Store,
        broker: Broker,
        placement: Placement,
        exits: ExitProtocol,
        *,
        clock: Clock,
        metrics: OrdersMetrics,
        reconciled: asyncio.Event,
        wait_reconciled_seconds: float = 20.0,
    ) -> None:
        self._store = store
        self._broker = broker
        self._placement = placement
        self._exits = exits
        self._clock = clock
        self._metrics = metrics
        self._reconciled = reconciled
        self._wait_reconciled = wait_reconciled_seconds

    async def handle(self, message: OrderCommand) -> None:
        with bound(correlation_id=message.correlation_id, message_id=message.message_id):
            match message:
                case SubmitEntry():
                    await self.submit(message)
                case ExitPosition():
                    await self.exit(message)
                case CancelOrder():
                    await self.cancel(message)

    async def _store_command(self, message: Message, kind: CommandKind) -> CommandStatus:
        async with self._store.transaction() as tx:
            row = await tx.insert_command(
                command_id=message.message_id,
                kind=kind,
                correlation_id=message.correlation_id,
                payload=message.model_dump(mode="json"),
                now=self._clock.now(),
            )
        return row.status

    async def _done(self, command_id: str, detail: str) -> None:
        async with self._store.transaction() as tx:
            await tx.update_command(command_id, self._clock.now(), CommandStatus.DONE, detail=detail[:1000])

    async def submit(self, command: SubmitEntry) -> None:
        status = await self._store_command(command, CommandKind.SUBMIT)
        if status in FINISHED:
            log.info("command_already_handled", status=status)
            return
        if not await wait_event(self._reconciled, self._wait_reconciled):
            raise NotReconciledError("start-up reconciliation has not succeeded yet")
        order = entry_spec(command, self._broker.product_type)

        async def send() -> Placed:
            return await self._broker.place_entry(command)

        outcome = await self._placement.place(command.command_id, send, order)
        self._metrics.commands.labels(kind="submit", outcome=outcome.status.lower()).inc()

    async def exit(self, command: ExitPosition) -> None:
        status = await self._store_command(command, CommandKind.EXIT)
        contract = ContractKey(command.segment, command.security_id)
        if status in FINISHED:
            if (
                status is CommandStatus.PLACED
            ):  # a sliced sell cut short by a crash: its slices left, once each
                await self._exits.place_slices(
                    command.command_id, contract, command.underlying.value, command.reason.value,
                    command.correlation_id,
                )  # fmt: skip
            log.info("command_already_handled", status=status)
            return
        outcome = await self._exits.run(
            command_id=command.command_id,
            contract=contract,
            underlying=command.underlying.value,
            reason=command.reason.value,
            correlation_id=command.correlation_id,
        )
        self._metrics.commands.labels(kind="exit", outcome=outcome.status.lower()).inc()
        log.info("exit_handled", outcome=outcome.status, broker_order_id=outcome.broker_order_id)

    async def cancel(self, command: CancelOrder) -> None:
        status = await self._store_command(command, CommandKind.CANCEL)
        if status in FINISHED:
            return
        broker_order_id: str | None = command.broker_order_id
        leg = command.leg
        async with self._store.transaction() as tx:
            row = await tx.order_by_key(ids.order_key(command.client_order_id, None))
        if row is not None:
            broker_order_id = broker_order_id or row.broker_order_id
            if row.leg is Leg.EXIT:
                leg = Leg.EXIT
        if broker_order_id is None:
            await self._done(command.command_id, "no such order at the broker")
            return
        try:
            await self._broker.cancel(broker_order_id, None if leg is Leg.EXIT else leg)
        except DhanRejectedError as exc:
            detail = "nothing to cancel" if is_nothing_to_cancel(exc) else f"refused: {exc}"
            await self._done(command.command_id, detail)
            return
        await self._done(command.command_id, "cancel accepted")
        self._metrics.commands.labels(kind="cancel", outcome="done").inc()
