"""The operator trading state: KV `control`/`trading_state`, its change events and its audit log.

Risk owns this key (orders owns `reconciliation`; execution obeys `effective_state` of both). Every
accepted action is audited — who, when, why, from which address, the state before and after —
and a change of state is written to the KV as a `ControlState` and announced as a
`TradingStateChanged` on `risk.evt.TradingStateChanged`. A watcher follows the key, so a value
written elsewhere (another replica, an operator with the NATS CLI) is what risk obeys too — except
that nothing loosens a sticky halt: while a kill or today's daily-loss halt holds (recorded in
`risk.trading_halt`, read back at start), a state other than HALTED found in the KV (written
elsewhere, or lost with the KV) is overwritten with HALTED at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus
from sarathi.common.bus.streams import TRADING_STATE_KEY
from sarathi.common.clock import Clock
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.control import TradingState
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import MessageDecodeError, decode_as, envelope
from sarathi.common.messages.risk import ControlState, TradingStateChanged
from sarathi.risk.adapters.store import AuditEntry, RiskStore
from sarathi.risk.domain.control import (
    NO_HALTS,
    Action,
    ActionRefusedError,
    Halt,
    HaltCause,
    Halts,
    Transition,
    transition,
)
from sarathi.risk.metrics import RiskMetrics

log = get_logger(__name__)
DAILY_LOSS_REASON_PREFIX = "daily loss limit"
SERVICE_ACTOR = "risk"


def _view(state: ControlState) -> dict[str, str]:
    return {
        "state": state.state.value,
        "reason": state.reason,
        "actor": state.actor,
        "updated_at": state.updated_at.isoformat(),
    }


class ControlKeeper:
    def __init__(
        self,
        bus: Bus,
        clock: Clock,
        store: RiskStore,
        metrics: RiskMetrics,
        *,
        initial_state: TradingState = TradingState.ACTIVE,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._store = store
        self._metrics = metrics
        self._initial = initial_state
        self._current: ControlState | None = None
        self._halts: Halts = NO_HALTS
        self._unsaved: list[Halt] = []  # halts set while the database was unreachable: retried
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None

    @property
    def current(self) -> ControlState:
        if self._current is None:
            raise RuntimeError("the control state is not loaded yet (start() first)")
        return self._current

    @property
    def state(self) -> TradingState:
        return self.current.state

    @property
    def halted_by_daily_loss(self) -> bool:
        """HALTED, and today's daily-loss halt (not a kill) is what holds it."""
        halts = self.halts()
        return self.state is TradingState.HALTED and halts.kill is None and halts.daily_loss is not None

    def halts(self) -> Halts:
        """The sticky halts in force now (a daily-loss halt only on its own trading day)."""
        return self._halts.on(self._today())

    def _today(self) -> date:
        return self._clock.now().astimezone(IST).date()

    async def start(self) -> None:
        """Read the halts from the database and the state from the KV (writing the initial one if
        there is none; HALTED while a halt holds), then follow the KV."""
        self._halts = await self._store.load_halts(self._today())
        entry = await self._bus.kv_get(TRADING_STATE_KEY)
        state = self._decode(entry.value) if entry is not None and entry.value else None
        if state is None:
            held = self.halts().in_force()  # never ACTIVE for an instant while a halt holds
            initial, why = (
                (TradingState.HALTED, f"{held[0].describe()} still holds")
                if held
                else (self._initial, "initial state")
            )
            state = self._record(initial, why, SERVICE_ACTOR)
            await self._bus.kv_put(TRADING_STATE_KEY, state.encode())
            await self._store.audit(
                AuditEntry(
                    SERVICE_ACTOR, state.updated_at, "initialize", state.reason, None, None, _view(state)
                )
            )
        self._set(state)
        await self._hold_halt()
        self._watcher = asyncio.create_task(self._follow(), name="risk-control-watch")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def act(
        self,
        action: Action,
        *,
        actor: str,
        reason: str,
        remote_address: str | None,
        daily_loss_breached: bool,
    ) -> Transition:
        """Apply `action` (or raise `ActionRefusedError`, changing nothing), record the sticky halt
        it sets or clears, audit it, publish a change.

        A halt being set is kept in memory at once and written to the database before the state
        changes; if the database is unreachable the halt still happens (and the write is retried
        by `save_unsaved`). Clearing a kill is written first and nothing changes if that fails."""
        async with self._lock:
            before = self.current
            step = transition(
                before.state, action, daily_loss_breached=daily_loss_breached, halts=self.halts()
            )
            if step.clears is HaltCause.KILL:
                try:
                    await self._store.clear_kill(self._clock.now(), actor, reason)
                except Exception as exc:  # not recorded, not cleared: the kill holds
                    log.error("clear_kill_unsaved", error=repr(exc))
                    raise ActionRefusedError(
                        f"the kill could not be cleared ({type(exc).__name__} from the database); it holds"
                    ) from exc
                self._halts = self._halts.without_kill()
            if step.sets is not None:
                await self._set_halt(Halt(step.sets, self._today(), self._clock.now(), actor, reason))
            after = before
            if step.changes_state:
                after = await self._change(before, step.after, reason, actor, action.value)
            await self._store.audit(
                AuditEntry(
                    actor,
                    self._clock.now(),
                    action.value,
                    reason,
                    remote_address,
                    _view(before),
                    _view(after),
                )
            )
            log.warning(
                "trading_state_action",
                action=action.value,
                actor=actor,
                before=before.state.value,
                after=step.after.value,
                reason=reason,
                remote=remote_address,
            )
            return step

    async def save_unsaved(self) -> None:
        """Retry writing halts that were set while the database was unreachable."""
        while self._unsaved:
            await self._store.record_halt(self._unsaved[0])
            log.warning("trading_halt_saved_late", cause=self._unsaved[0].cause.value)
            self._unsaved.pop(0)

    async def _set_halt(self, halt: Halt) -> None:
        self._halts = self._halts.with_halt(halt)
        try:
            await self._store.record_halt(halt)
        except Exception as exc:  # the halt holds in memory; the loop retries the write
            log.error("trading_halt_unsaved", cause=halt.cause.value, error=repr(exc))
            self._unsaved.append(halt)

    async def _change(
        self, before: ControlState, state: TradingState, reason: str, actor: str, cause: str
    ) -> ControlState:
        after = self._record(state, reason, actor)
        await self._bus.kv_put(TRADING_STATE_KEY, after.encode())
        self._set(after)
        changed = TradingStateChanged(
            **envelope(correlation_id=f"control-{cause}", event_time=after.updated_at),
            state=state,
            previous_state=before.state,
            reason=after.reason,
            actor=after.actor,
            at=after.updated_at,
        )
        await self._bus.publish_durable(subjects.risk_event(changed.type), changed)
        return after

    async def _hold_halt(self) -> None:
        """While a sticky halt holds, a state other than HALTED is put back to HALTED."""
        before = self.current
        held = self.halts().in_force()
        if before.state is TradingState.HALTED or not held:
            return
        reason = f"{held[0].describe()} still holds"
        log.critical("trading_halt_reasserted", found=before.state.value, actor=before.actor, reason=reason)
        after = await self._change(before, TradingState.HALTED, reason, SERVICE_ACTOR, "reassert")
        await self._store.audit(
            AuditEntry(
                SERVICE_ACTOR, after.updated_at, "reassert_halt", reason, None, _view(before), _view(after)
            )
        )

    def _record(self, state: TradingState, reason: str, actor: str) -> ControlState:
        now = self._clock.now()
        return ControlState(
            **envelope(correlation_id="control", event_time=now),
            state=state,
            reason=reason[:500] or "no reason given",
            actor=actor[:64] or SERVICE_ACTOR,
            updated_at=now,
        )

    def _set(self, state: ControlState) -> None:
        self._current = state
        for candidate in TradingState:
            self._metrics.trading_state.labels(candidate.value).set(1 if candidate is state.state else 0)

    def _decode(self, value: bytes) -> ControlState:
        """The stored state; a bare state name is accepted, anything else reads as HALTED (fail safe)."""
        try:
            return decode_as(value, ControlState)
        except MessageDecodeError:
            text = value[:200].decode(errors="replace").strip()
            log.error("control_state_undecodable", value=text)
            try:
                return self._record(TradingState(text), f"plain value {text!r} in the KV", "unknown")
            except ValueError:
                return self._record(TradingState.HALTED, "undecodable control state in the KV", "unknown")

    async def _follow(self) -> None:
        async for entry in self._bus.kv_watch(TRADING_STATE_KEY):
            state = self._decode(entry.value) if entry.value else None
            if state is not None and state != self._current:
                log.info("trading_state_followed", state=state.state.value, actor=state.actor)
                async with self._lock:
                    self._set(state)
                    await self._hold_halt()
