"""The sticky halts as pure rules: what each action may do while a kill or a daily-loss halt holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sarathi.common.domain.control import TradingState
from sarathi.common.domain.trading import ExitReason
from sarathi.risk.domain.control import (
    NO_HALTS,
    Action,
    ActionRefusedError,
    Halt,
    HaltCause,
    Halts,
    resume_refusal,
    transition,
)

from ..builders import OPEN

DAY = OPEN.date()
KILL = Halt(HaltCause.KILL, DAY, OPEN, "ops", "runaway")
LOSS = Halt(HaltCause.DAILY_LOSS, DAY, OPEN, "risk", "daily loss limit ₹5000 breached")


def test_a_daily_loss_halt_refuses_resume_though_the_pnl_is_back_inside_the_limit() -> None:
    with pytest.raises(ActionRefusedError, match="daily loss"):
        transition(
            TradingState.HALTED, Action.RESUME, daily_loss_breached=False, halts=Halts(daily_loss=LOSS)
        )


def test_a_daily_loss_halt_no_longer_holds_on_the_next_day() -> None:
    halts = Halts(daily_loss=LOSS).on(DAY + timedelta(days=1))
    step = transition(TradingState.HALTED, Action.RESUME, daily_loss_breached=False, halts=halts)
    assert step.after is TradingState.ACTIVE


@pytest.mark.parametrize("action", [Action.RESUME, Action.PAUSE])
def test_a_kill_refuses_resume_and_pause_naming_clear_kill(action: Action) -> None:
    with pytest.raises(ActionRefusedError, match="clear-kill"):
        transition(TradingState.HALTED, action, daily_loss_breached=False, halts=Halts(kill=KILL).on(DAY))


def test_a_kill_holds_on_later_days_until_cleared() -> None:
    later = Halts(kill=KILL).on(DAY + timedelta(days=3))
    assert resume_refusal(TradingState.HALTED, later, daily_loss_breached=False) is not None


def test_kill_and_daily_loss_set_their_halt_once_and_clear_kill_clears_only_a_kill() -> None:
    kill = transition(TradingState.ACTIVE, Action.KILL, daily_loss_breached=False)
    assert (kill.after, kill.flatten, kill.sets) == (TradingState.HALTED, ExitReason.KILL, HaltCause.KILL)
    again = transition(TradingState.HALTED, Action.KILL, daily_loss_breached=False, halts=Halts(kill=KILL))
    assert again.sets is None
    loss = transition(
        TradingState.HALTED, Action.DAILY_LOSS, daily_loss_breached=True, halts=Halts(kill=KILL)
    )
    assert (loss.sets, loss.flatten) == (HaltCause.DAILY_LOSS, ExitReason.DAILY_LOSS)
    cleared = transition(
        TradingState.HALTED, Action.CLEAR_KILL, daily_loss_breached=False, halts=Halts(kill=KILL)
    )
    assert (cleared.after, cleared.clears, cleared.flatten) == (TradingState.HALTED, HaltCause.KILL, None)
    with pytest.raises(ActionRefusedError, match="no kill"):
        transition(TradingState.HALTED, Action.CLEAR_KILL, daily_loss_breached=False, halts=NO_HALTS)


@pytest.mark.parametrize("current", list(TradingState))
def test_the_broker_refusing_orders_halts_without_a_sticky_halt_so_resume_works_once_fixed(
    current: TradingState,
) -> None:
    step = transition(current, Action.BROKER_REFUSED, daily_loss_breached=False, halts=NO_HALTS)

    assert (step.after, step.sets, step.flatten) == (TradingState.HALTED, None, None)
    assert resume_refusal(step.after, NO_HALTS, daily_loss_breached=False) is None
