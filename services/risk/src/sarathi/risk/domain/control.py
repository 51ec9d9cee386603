"""What each operator action (and the daily loss limit) does to the trading state.

| action | from | to | positions |
|---|---|---|---|
| pause | ACTIVE, PAUSED | PAUSED | kept (managed as usual) |
| resume | any | ACTIVE (refused while today's daily loss limit is breached) | kept |
| flatten | any | unchanged | every one exited (FLATTEN) |
| kill | any | HALTED | every one exited (KILL) |
| daily loss | any | HALTED | every one exited (DAILY_LOSS) |

Pausing a HALTED system is refused: it would loosen the halt (resume first, deliberately).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sarathi.common.domain.control import TradingState
from sarathi.common.messages.fields import ExitReason


class Action(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN = "flatten"
    KILL = "kill"
    DAILY_LOSS = "daily_loss"


class ActionRefusedError(ValueError):
    """The action is not allowed in the current state; nothing changed."""


@dataclass(frozen=True, slots=True)
class Transition:
    before: TradingState
    after: TradingState
    flatten: ExitReason | None

    @property
    def changes_state(self) -> bool:
        return self.before is not self.after


_FLATTEN = {
    Action.FLATTEN: ExitReason.FLATTEN,
    Action.KILL: ExitReason.KILL,
    Action.DAILY_LOSS: ExitReason.DAILY_LOSS,
}


def transition(current: TradingState, action: Action, *, daily_loss_breached: bool) -> Transition:
    if action is Action.PAUSE:
        if current is TradingState.HALTED:
            raise ActionRefusedError("trading is HALTED; resume first if you mean to trade again")
        return Transition(current, TradingState.PAUSED, None)
    if action is Action.RESUME:
        if daily_loss_breached:
            raise ActionRefusedError(
                "today's daily loss limit is breached: trading stays halted until tomorrow"
            )
        return Transition(current, TradingState.ACTIVE, None)
    if action is Action.FLATTEN:
        return Transition(current, current, ExitReason.FLATTEN)
    return Transition(current, TradingState.HALTED, _FLATTEN[action])


def exit_reason_when_halted(halted_by: Action | None) -> ExitReason:
    """Why a position found open while HALTED is exited."""
    return ExitReason.DAILY_LOSS if halted_by is Action.DAILY_LOSS else ExitReason.KILL
