"""The day plan's derived settings, the environment each service gets, and `sarathi run`'s SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
from decimal import Decimal
from pathlib import Path

import pytest

from sarathi.cli import background, run
from sarathi.cli.day import RECONCILE_EVERY_MARKET_SECONDS, TRADING_SERVICES, DayPlan, service_env


@pytest.mark.parametrize(("speed", "steps"), [(200, 40), (1000, 200), (7, 2)])
def test_the_market_step_stays_five_seconds_at_any_speed(speed: int, steps: int) -> None:
    plan = DayPlan(speed=Decimal(speed))
    assert plan.steps_per_wall_second == steps
    assert plan.market_step_seconds == pytest.approx(max(1.0, speed / steps))


def test_an_explicit_step_rate_is_kept() -> None:
    plan = DayPlan(speed=Decimal(200), feed_steps_per_wall_second=20)
    assert (plan.steps_per_wall_second, plan.market_step_seconds) == (20, 10.0)


def test_the_held_day_runs_the_clock_protocol_with_risk_s_default_configuration(tmp_path: Path) -> None:
    held = service_env(DayPlan(), {}, 8600, "t", tmp_path)
    assert json.loads(held["SARATHI_SIM_CLOCK_PARTICIPANTS"]) == list(TRADING_SERVICES)
    assert "SARATHI_RISK_EVALUATE_ON_TICK" not in held  # the default: the 5-second loop decides
    assert held["SARATHI_ORDERS_RECONCILE_INTERVAL_SECONDS"] == str(RECONCILE_EVERY_MARKET_SECONDS)
    free = service_env(DayPlan(held=False), {}, 8600, "t", tmp_path)
    assert "SARATHI_SIM_CLOCK_PARTICIPANTS" not in free
    assert "SARATHI_ORDERS_RECONCILE_INTERVAL_SECONDS" not in free


def test_the_day_runs_the_order_update_spelling_the_docs_do_not_show(tmp_path: Path) -> None:
    env = service_env(DayPlan(), {}, 8600, "t", tmp_path)
    assert env["SARATHI_SIM_ORDER_UPDATE_KEYS"] == "camel"


def test_the_feed_signals_and_execution_record_the_day_into_one_directory(tmp_path: Path) -> None:
    env = service_env(DayPlan(), {}, 8600, "t", tmp_path)
    recording = str(tmp_path / "recording")
    assert env["SARATHI_FEED_RECORDER_DIRECTORY"] == recording
    assert env["SARATHI_SIGNALS_RECORDER_DIRECTORY"] == recording
    assert env["SARATHI_EXECUTION_RECORDER_DIRECTORY"] == recording


def test_sigterm_unwinds_the_run_like_ctrl_c() -> None:
    with pytest.raises(KeyboardInterrupt):
        run._interrupt(signal.SIGTERM, None)


def test_the_background_system_keeps_the_services_own_defaults(tmp_path: Path) -> None:
    args = argparse.Namespace(date=None, seed=7, speed=Decimal(1), mode="sim")
    env = background._env(args, {}, "t", tmp_path)
    assert "SARATHI_RISK_EVALUATE_ON_TICK" not in env
    assert "SARATHI_ORDERS_RECONCILE_INTERVAL_SECONDS" not in env
    assert env["SARATHI_SIM_SPEED"] == "1"
