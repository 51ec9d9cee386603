"""What each operator action (and the daily loss limit) does to the trading state, and the sticky
halts that hold it there.

| action | from | to | positions | halt |
|---|---|---|---|---|
| pause | ACTIVE, PAUSED | PAUSED | kept (managed as usual) | refused while a kill holds |
| resume | any | ACTIVE | kept | refused while a kill or today's daily-loss halt holds |
| flatten | any | unchanged | every one exited (FLATTEN) | |
| kill | any | HALTED | every one exited (KILL) | sets the kill halt |
| clear_kill | any | unchanged (HALTED stays HALTED) | kept | clears the kill halt (a reason is required) |
| daily loss | any | HALTED | every one exited (DAILY_LOSS) | sets today's daily-loss halt |
| broker refused | any | HALTED | exited by the loop, as in any HALTED state | none: `resume` once fixed |

A halt is *sticky*: once set it holds whatever the P&L does afterwards. The daily-loss halt holds
for the rest of its trading day (IST); the kill holds until an operator clears it with a reason,
and only then may `resume` (with no daily-loss halt today) make trading ACTIVE again.
Pausing a HALTED system is refused: it would loosen the halt (resume first, deliberately).

"Broker refused" is Dhan refusing our order calls for a cause no retry fixes (the static IP,
DH-911). It is not sticky: its cause is a setting at the broker that the operator fixes and then
resumes, with nothing to protect until then (a refused order never reached the exchange); should
it still be wrong, the next refused order halts again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from sarathi.common.domain.control import TradingState
from sarathi.common.domain.trading import ExitReason


class Action(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN = "flatten"
    KILL = "kill"
    CLEAR_KILL = "clear_kill"
    DAILY_LOSS = "daily_loss"
    BROKER_REFUSED = "broker_refused"


class HaltCause(StrEnum):
    DAILY_LOSS = "DAILY_LOSS"  # holds for the rest of its trading day
    KILL = "KILL"  # holds until an operator clears it


class ActionRefusedError(ValueError):
    """The action is not allowed in the current state; nothing changed."""


@dataclass(frozen=True, slots=True)
class Halt:
    """One sticky halt: why trading stopped, for which trading day, who and when."""

    cause: HaltCause
    trading_day: date
    at: datetime
    actor: str
    reason: str

    def describe(self) -> str:
        if self.cause is HaltCause.KILL:
            return f"killed by {self.actor} at {self.at.isoformat()} ({self.reason})"
        return f"daily loss halt of {self.trading_day.isoformat()} ({self.reason})"


@dataclass(frozen=True, slots=True)
class Halts:
    """The sticky halts on record: the kill not yet cleared, the latest daily-loss halt."""

    kill: Halt | None = None
    daily_loss: Halt | None = None

    def on(self, day: date) -> Halts:
        """Those in force on `day`: a daily-loss halt of another day no longer holds."""
        if self.daily_loss is not None and self.daily_loss.trading_day != day:
            return replace(self, daily_loss=None)
        return self

    def in_force(self) -> tuple[Halt, ...]:
        return tuple(h for h in (self.kill, self.daily_loss) if h is not None)

    def with_halt(self, halt: Halt) -> Halts:
        if halt.cause is HaltCause.KILL:
            return replace(self, kill=halt)
        return replace(self, daily_loss=halt)

    def without_kill(self) -> Halts:
        return replace(self, kill=None)


NO_HALTS = Halts()


@dataclass(frozen=True, slots=True)
class Transition:
    before: TradingState
    after: TradingState
    flatten: ExitReason | None
    sets: HaltCause | None = None  # a sticky halt to record
    clears: HaltCause | None = None  # a sticky halt to clear

    @property
    def changes_state(self) -> bool:
        return self.before is not self.after


_FLATTEN = {
    Action.FLATTEN: ExitReason.FLATTEN,
    Action.KILL: ExitReason.KILL,
    Action.DAILY_LOSS: ExitReason.DAILY_LOSS,
}
CLEAR_KILL_HINT = 'clear it first: sarathi clear-kill --reason "..."'


def transition(
    current: TradingState, action: Action, *, daily_loss_breached: bool, halts: Halts = NO_HALTS
) -> Transition:
    """What `action` does from `current`, given the halts in force today (`Halts.on(today)`) and
    whether today's P&L is at the limit right now; raises `ActionRefusedError` when refused."""
    if action in (Action.PAUSE, Action.RESUME) and halts.kill is not None:
        raise ActionRefusedError(f"trading is {halts.kill.describe()}: {CLEAR_KILL_HINT}")
    if action is Action.PAUSE:
        if current is TradingState.HALTED:
            raise ActionRefusedError("trading is HALTED; resume first if you mean to trade again")
        return Transition(current, TradingState.PAUSED, None)
    if action is Action.RESUME:
        if halts.daily_loss is not None or daily_loss_breached:
            held = "" if halts.daily_loss is None else f" ({halts.daily_loss.reason})"
            raise ActionRefusedError(
                f"today's daily loss limit is breached{held}: trading stays halted until tomorrow"
            )
        return Transition(current, TradingState.ACTIVE, None)
    if action is Action.CLEAR_KILL:
        if halts.kill is None:
            raise ActionRefusedError("there is no kill to clear")
        return Transition(current, current, None, clears=HaltCause.KILL)
    if action is Action.FLATTEN:
        return Transition(current, current, ExitReason.FLATTEN)
    if action is Action.BROKER_REFUSED:
        return Transition(current, TradingState.HALTED, None)
    if action is Action.KILL:
        sets = HaltCause.KILL if halts.kill is None else None
    else:
        sets = HaltCause.DAILY_LOSS if halts.daily_loss is None else None
    return Transition(current, TradingState.HALTED, _FLATTEN[action], sets=sets)


def resume_refusal(current: TradingState, halts: Halts, *, daily_loss_breached: bool) -> str | None:
    """Why `resume` would be refused now (None when it would be accepted)."""
    try:
        transition(current, Action.RESUME, daily_loss_breached=daily_loss_breached, halts=halts)
    except ActionRefusedError as exc:
        return str(exc)
    return None


def exit_reason_when_halted(halted_by: Action | None) -> ExitReason:
    """Why a position found open while HALTED is exited."""
    return ExitReason.DAILY_LOSS if halted_by is Action.DAILY_LOSS else ExitReason.KILL
