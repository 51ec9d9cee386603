"""Kill: cancel every open order and leg, exit every position, confirm at the broker that the
account is flat, and optionally activate Dhan's own kill switch (blocks trading for the day).

Each contract with something open is exited through the same `ExitProtocol` as an exit command,
under a command id derived from the kill id and the contract, stored as a KILL command — so a
repeated kill (same id) resumes rather than selling twice. Flat means: every broker net quantity
is zero and no order is open. A short position (which Sarathi never opens) is reported, never
bought back automatically. Whatever goes wrong with one contract (a refusal, a reply we cannot
read) is logged and reported, and the kill goes on: the confirmation reads the broker's books.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sarathi.common.clock import Clock
from sarathi.common.dhan.errors import DhanError
from sarathi.common.dhan.schemas import VenueSchemaError
from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import ExitReason
from sarathi.common.logging import get_logger
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import CommandKind
from sarathi.orders.domain.reconcile import broker_nets
from sarathi.orders.exits import ExitProtocol
from sarathi.orders.ports import Broker

log = get_logger(__name__)


@dataclass(frozen=True)
class KillReport:
    kill_id: str
    flat: bool
    exits: dict[str, str] = field(default_factory=dict)  # security id → outcome
    open_orders: int = 0
    nets: dict[str, int] = field(default_factory=dict)  # security id → broker net left
    kill_switch: bool | None = None
    errors: tuple[str, ...] = ()


class Killer:
    def __init__(
        self,
        broker: Broker,
        store: Store,
        exits: ExitProtocol,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[None]],
        confirm_checks: int = 20,
        confirm_interval_seconds: float = 0.5,
    ) -> None:
        self._broker = broker
        self._store = store
        self._exits = exits
        self._clock = clock
        self._sleep = sleep
        self._checks = confirm_checks
        self._interval = confirm_interval_seconds

    async def _contracts(self) -> set[ContractKey]:
        nets = broker_nets(await self._broker.positions())
        busy = {c for c, net in nets.items() if net != 0}
        busy |= {o.contract for o in await self._broker.orders() if o.is_open}
        busy |= {
            so.contract
            for so in await self._broker.super_orders()
            if so.entry_open or any(leg.resting for leg in so.legs)
        }
        return busy

    async def _store_kill_command(self, command_id: str, kill_id: str, contract: ContractKey) -> None:
        async with self._store.transaction() as tx:
            await tx.insert_command(
                command_id=command_id,
                kind=CommandKind.KILL,
                correlation_id=kill_id,
                payload={
                    "kill_id": kill_id,
                    "security_id": contract.security_id,
                    "segment": contract.segment.wire,
                    "reason": ExitReason.KILL.value,
                },
                now=self._clock.now(),
            )

    async def kill(self, kill_id: str, *, activate_kill_switch: bool) -> KillReport:
        errors: list[str] = []
        exits: dict[str, str] = {}
        for contract in sorted(await self._contracts(), key=lambda c: c.security_id):
            command_id = ids.derived_command_id("K", kill_id, contract.segment.wire, contract.security_id)
            await self._store_kill_command(command_id, kill_id, contract)
            async with self._store.transaction() as tx:
                underlying = await tx.underlying_of(contract)
            try:
                outcome = await self._exits.run(
                    command_id=command_id,
                    contract=contract,
                    underlying=underlying,
                    reason=ExitReason.KILL.value,
                    correlation_id=kill_id,
                )
            except Exception as exc:  # any failure: log it, go on, confirm at the broker
                errors.append(f"{contract.security_id}: {exc}")
                log.exception("kill_exit_failed", security_id=contract.security_id)
                continue
            exits[contract.security_id] = outcome.status
        report = await self._confirm_flat(kill_id, exits, errors)
        if activate_kill_switch and report.flat:
            try:
                active = await self._broker.set_kill_switch(True)
            except (DhanError, VenueSchemaError) as exc:
                errors.append(f"kill switch: {exc}")
                active = False
            report = KillReport(
                kill_id, report.flat, exits, report.open_orders, report.nets, active, tuple(errors)
            )
        log.warning("kill_finished", kill_id=kill_id, flat=report.flat, nets=report.nets, errors=list(errors))
        return report

    async def _confirm_flat(self, kill_id: str, exits: dict[str, str], errors: list[str]) -> KillReport:
        nets: dict[str, int] = {}
        open_orders = 0
        for _ in range(self._checks):
            try:
                positions = broker_nets(await self._broker.positions())
                orders = await self._broker.orders()
            except (DhanError, VenueSchemaError) as exc:
                errors.append(f"confirm: {exc}")
                await self._sleep(self._interval)
                continue
            nets = {c.security_id: n for c, n in positions.items() if n != 0}
            open_orders = sum(1 for o in orders if o.is_open)
            if not nets and open_orders == 0:
                return KillReport(kill_id, True, exits, 0, {}, None, tuple(errors))
            await self._sleep(self._interval)
        return KillReport(kill_id, False, exits, open_orders, nets, None, tuple(errors))
