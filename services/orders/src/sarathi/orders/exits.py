"""The exit protocol for one contract (ARCHITECTURE §6), run by exit commands and by a kill.

Each round reads the broker — super orders, then the order book, then positions — and lets the
pure planner (`domain.exit_plan`) decide: cancel what still rests and look again; wait while an
entry is in TRANSIT; or sell exactly the broker's net quantity less what is already being sold.
The sell is placed through `Placement`, exactly once under the exit's command id. A cancel that
Dhan answers "Nothing to Cancel" means the leg already fired or was cancelled: the next round's
net quantity accounts for it. Any other failure of a cancel, or a reply we cannot read, is logged
and the round repeats: the next look at the broker decides.

Freeze quantity: a sell at or above the contract's `SM_FREEZE_QTY` (from the instrument sync) is
rejected by the exchange, so a larger one is placed as slices (`sell_slices`) from one plan: slice
0 under the command id, slice k under `ids.slice_command_id`, each its own command row (stored,
all of them, before the first send) and placed exactly once; a redelivery resumes the slices
left. Unlisted contracts (no freeze known) are sold in one order.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sarathi.common.backoff import Backoff
from sarathi.common.clock import Clock
from sarathi.common.dhan.errors import DhanError, DhanRejectedError
from sarathi.common.dhan.schemas import VenueSchemaError
from sarathi.common.domain.instruments import ContractKey
from sarathi.common.logging import get_logger
from sarathi.orders.adapters.broker import is_nothing_to_cancel
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import CommandStatus
from sarathi.orders.domain.exit_plan import (
    Cancel,
    CancelStep,
    ExitDecision,
    Sell,
    Wait,
    plan_duplicate_exit,
    plan_exit,
    sell_slices,
)
from sarathi.orders.domain.model import BrokerOrder, BrokerSuperOrder
from sarathi.orders.domain.order_spec import OrderSpec, exit_spec
from sarathi.orders.placement import Outcome, Placement
from sarathi.orders.ports import Broker, Placed

log = get_logger(__name__)

Planner = Callable[[int, list[BrokerSuperOrder], list[BrokerOrder]], ExitDecision]
"""(broker net, the contract's super orders, its orders) → the next step."""


class ExitNotSettledError(RuntimeError):
    """Legs kept resting (or entries in TRANSIT) through every round: retry the command later."""


class ExitProtocol:
    def __init__(
        self,
        broker: Broker,
        placement: Placement,
        clock: Clock,
        *,
        store: Store,
        sleep: Callable[[float], Awaitable[None]],
        max_rounds: int = 20,
        backoff: Backoff | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._broker = broker
        self._placement = placement
        self._clock = clock
        self._store = store
        self._sleep = sleep
        self._max_rounds = max_rounds
        self._backoff = backoff or Backoff(initial_seconds=0.2, cap_seconds=2.0)
        self._jitter = jitter
        self.nothing_to_cancel = 0  # legs found already fired or cancelled when cancelling

    async def sell_quantity(self, contract: ContractKey) -> int:
        """Cancel everything resting in `contract`, then the quantity left to sell (≥ 0)."""
        return await self._settle(contract, plan_exit)

    async def duplicate_sell_quantity(self, contract: ContractKey, broker_order_id: str) -> int:
        """Cancel what rests of duplicate entry `broker_order_id` (nothing else), then the quantity
        it bought and still holds (≥ 0, never above the broker's net less what is being sold)."""

        def plan(net: int, supers: list[BrokerSuperOrder], orders: list[BrokerOrder]) -> ExitDecision:
            mine = next((so for so in supers if so.broker_order_id == broker_order_id), None)
            others = [so for so in supers if so.broker_order_id != broker_order_id]
            return plan_duplicate_exit(mine, others, net, orders)

        return await self._settle(contract, plan)

    async def _settle(self, contract: ContractKey, plan: Planner) -> int:
        for round_no in range(1, self._max_rounds + 1):
            supers = [so for so in await self._broker.super_orders() if so.contract == contract]
            orders = [o for o in await self._broker.orders() if o.contract == contract]
            net = sum(p.net_quantity for p in await self._broker.positions() if p.contract == contract)
            decision = plan(net, supers, orders)
            if isinstance(decision, Sell):
                log.info("exit_planned", security_id=contract.security_id, net=net, sell=decision.quantity)
                return decision.quantity
            if isinstance(decision, Cancel):
                for step in decision.steps:
                    await self.cancel(step)
            elif isinstance(decision, Wait):
                log.info("exit_waiting", security_id=contract.security_id, reason=decision.reason)
                await self._sleep(self._backoff.delay(round_no, self._jitter()))
        raise ExitNotSettledError(f"{contract.security_id}: still resting after {self._max_rounds} rounds")

    async def cancel(self, step: CancelStep) -> None:
        """Cancel one resting order or leg; refusals and failures are logged (the next look decides)."""
        try:
            await self._broker.cancel(step.broker_order_id, step.leg)
        except DhanRejectedError as exc:
            self.nothing_to_cancel += is_nothing_to_cancel(exc)
            level = "info" if is_nothing_to_cancel(exc) else "warning"
            getattr(log, level)(
                "exit_cancel_refused", order=step.broker_order_id, leg=str(step.leg), error=str(exc)
            )
            if not is_nothing_to_cancel(exc):
                await self._sleep(self._backoff.delay(1, self._jitter()))
        except (DhanError, VenueSchemaError) as exc:  # unknown outcome, transient or unreadable reply:
            # the next round reads the truth
            log.warning("exit_cancel_failed", order=step.broker_order_id, leg=str(step.leg), error=str(exc))
        else:
            log.info("exit_cancelled", order=step.broker_order_id, leg=str(step.leg))

    async def run(
        self,
        *,
        command_id: str,
        contract: ContractKey,
        underlying: str | None,
        reason: str,
        correlation_id: str,
        quantity: Callable[[], Awaitable[int]] | None = None,
    ) -> Outcome:
        """Exit the position in `contract` under `command_id` (its stored command row).

        A sell sent earlier under this id (then crash or unknown outcome) is resolved first; only
        when it proved absent is the quantity planned again from the broker's state (by
        `quantity`, default: the contract's whole net after cancelling all that rests).
        """
        order = self._order(command_id, contract, underlying, reason, correlation_id)
        previous = await self._placement.settle_previous(command_id, order)
        if previous is not None:
            if previous.status is CommandStatus.PLACED:  # the rest of a sliced sell, if a crash cut it short
                await self.place_slices(command_id, contract, underlying, reason, correlation_id)
            return previous
        to_sell = await (quantity() if quantity is not None else self.sell_quantity(contract))
        if to_sell <= 0:
            async with self._store.transaction() as tx:
                await tx.update_command(
                    command_id, self._clock.now(), CommandStatus.DONE, detail="nothing left to sell"
                )
            return Outcome(CommandStatus.DONE)
        parts = await self._slices(contract, to_sell)
        await self._store_slices(command_id, parts, order)
        order = replace(order, quantity=parts[0])
        outcome = await self._placement.place(command_id, self._sender(order), order)
        if outcome.status is CommandStatus.PLACED:
            await self.place_slices(command_id, contract, underlying, reason, correlation_id)
        return outcome

    def _order(
        self, command_id: str, contract: ContractKey, underlying: str | None, reason: str, correlation_id: str
    ) -> OrderSpec:
        return exit_spec(
            command_id, contract, product=self._broker.product_type, underlying=underlying, reason=reason,
            correlation_id=correlation_id,
        )  # fmt: skip

    def _sender(self, order: OrderSpec) -> Callable[[], Awaitable[Placed]]:
        async def send() -> Placed:
            return await self._broker.place_market(
                order.command_id, order.contract, order.side, order.quantity
            )

        return send

    async def _slices(self, contract: ContractKey, quantity: int) -> list[int]:
        async with self._store.transaction() as tx:
            limits = await tx.order_limits(contract)
        if limits is None:
            return [quantity]
        parts = sell_slices(quantity, *limits)
        if len(parts) > 1:
            log.info("exit_sliced", security_id=contract.security_id, quantity=quantity, slices=parts)
        return parts

    async def _store_slices(self, command_id: str, parts: list[int], order: OrderSpec) -> None:
        """The command rows of slices 1…, before slice 0 is sent; rows of an earlier plan (never
        sent: slices go only after slice 0 is placed) take the new quantities or are retired."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            parent = await tx.command(command_id)
            assert parent is not None, "store the command before exiting"
            number = 1
            while True:
                slice_id = ids.slice_command_id(command_id, number)
                existing = await tx.command(slice_id, for_update=True)
                if existing is not None and existing.status not in (
                    CommandStatus.RECEIVED,
                    CommandStatus.DONE,
                ):
                    raise RuntimeError(f"slice {slice_id} of {command_id} was sent before its first slice")
                if number < len(parts):
                    payload = {
                        "slice_of": command_id, "slice": number, "quantity": parts[number],
                        "security_id": order.contract.security_id, "segment": order.contract.segment.wire,
                        "underlying": order.underlying, "reason": order.exit_reason,
                    }  # fmt: skip
                    if existing is None:
                        await tx.insert_command(
                            command_id=slice_id, kind=parent.kind, correlation_id=parent.correlation_id,
                            payload=payload, now=now,
                        )  # fmt: skip
                    else:
                        await tx.update_command(
                            slice_id, now, CommandStatus.RECEIVED, payload=payload, attempts=0
                        )
                elif existing is not None:
                    await tx.update_command(slice_id, now, CommandStatus.DONE, detail="slice not needed")
                else:
                    return
                number += 1

    async def place_slices(
        self, command_id: str, contract: ContractKey, underlying: str | None, reason: str, correlation_id: str
    ) -> None:
        """Slices 1… of the sell placed under `command_id`, each exactly once; stops at the first
        that is not placed (the rest stay RECEIVED; the next exit plans from the broker)."""
        number = 1
        while True:
            slice_id = ids.slice_command_id(command_id, number)
            async with self._store.transaction() as tx:
                row = await tx.command(slice_id)
            if row is None or "slice_of" not in row.payload or row.status is CommandStatus.DONE:
                return
            order = self._order(slice_id, contract, underlying, reason, correlation_id)
            order = replace(order, quantity=int(row.payload["quantity"]))
            outcome = await self._placement.place(slice_id, self._sender(order), order)
            if outcome.status is not CommandStatus.PLACED:
                log.warning("exit_slice_not_placed", command_id=slice_id, outcome=outcome.status)
                return
            number += 1
