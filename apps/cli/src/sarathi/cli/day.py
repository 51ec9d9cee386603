"""A simulated trading day through every real service, as separate processes.

`system(plan, urls, run_dir)` starts sim with its clock paused at the plan's start, syncs the
instruments from it, starts the five services and yields a `System`; `run_session` resumes the
clock, shows the progress line until the plan's end (market time), pauses the clock and waits
until our books have caught up with the broker's; `settle` returns what is needed for the report.

Why these settings for a fast day: the sim steps its market at most `feed_steps_per_wall_second`
times a wall second, so the market step is `speed / feed_steps_per_wall_second` market seconds
(5 s at 200×, the risk loop's period). The feed's connection-staleness threshold is raised to a
few steps, or every gap between two steps would count as a stale connection.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time as walltime
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sarathi.cli.barriers import BarCloseBarriers, BarrierStats
from sarathi.cli.books import Books, load_books
from sarathi.cli.control import ControlClient
from sarathi.cli.progress import ProgressLine, Sample, take_sample
from sarathi.cli.report import reconcile
from sarathi.cli.simclient import SimClient
from sarathi.cli.supervisor import SERVICES, Supervisor, SupervisorError
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Underlying

DEFAULT_DAY = date(2026, 9, 16)  # a Wednesday: no index expires that day
DEFAULT_SEED = 20260915
DEFAULT_SPEED = Decimal(200)  # 22,500 market seconds in under two minutes of wall time
SESSION_OPEN, SESSION_CLOSE = time(9, 15), time(15, 30)
TRADING_SERVICES = ("orders", "feed", "signals", "execution", "risk")
SYNC_JOB = ("-m", "sarathi.execution.refdata", "sync")


@dataclass(frozen=True)
class DayPlan:
    day: date = DEFAULT_DAY
    seed: int = DEFAULT_SEED
    speed: Decimal = DEFAULT_SPEED
    start: time = SESSION_OPEN
    end: time = SESSION_CLOSE
    feed_steps_per_wall_second: int = 40
    hold_at_bar_closes: bool = True  # `sarathi.cli.barriers`: decisions independent of load
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def underlyings(self) -> int:
        """How many underlyings signals decides on (every one at each bar close)."""
        chosen = self.extra_env.get("SARATHI_SIGNALS_UNDERLYINGS")
        return len(json.loads(chosen)) if chosen else len(Underlying)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.day, self.start, IST)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.day, self.end, IST)

    @property
    def market_seconds(self) -> float:
        return (self.end_at - self.start_at).total_seconds()

    @property
    def market_step_seconds(self) -> float:
        return max(1.0, float(self.speed) / self.feed_steps_per_wall_second)


def service_env(
    plan: DayPlan, urls: Mapping[str, str], sim_port: int, token: str, run_dir: Path
) -> dict[str, str]:
    """The environment of every process of the day (each reads only its own variables)."""
    sim = f"127.0.0.1:{sim_port}"
    return {
        **urls,
        "SARATHI_MODE": "sim",
        "SARATHI_DHAN_REST_URL": f"http://{sim}/v2",
        "SARATHI_DHAN_FEED_URL": f"ws://{sim}/feed",
        "SARATHI_DHAN_ORDER_UPDATE_URL": f"ws://{sim}/order-update",
        "SARATHI_EXECUTION_INSTRUMENT_MASTER_URL": f"http://{sim}/api-data/api-scrip-master-detailed.csv",
        "SARATHI_CONTROL_TOKEN": token,
        "SARATHI_ORDERS_CONTROL_TOKEN": token,
        "SARATHI_SIM_SEED": str(plan.seed),
        "SARATHI_SIM_START": plan.start_at.isoformat(),
        "SARATHI_SIM_SPEED": str(plan.speed),
        "SARATHI_SIM_START_PAUSED": "true",
        "SARATHI_SIM_MAX_FEED_STEPS_PER_WALL_SECOND": str(plan.feed_steps_per_wall_second),
        "SARATHI_FEED_CONNECTION_STALE_SECONDS": str(max(5.0, 3 * plan.market_step_seconds)),
        "SARATHI_FEED_RECORDER_DIRECTORY": str(run_dir / "feed-recordings"),
        **plan.extra_env,
    }


@dataclass
class System:
    supervisor: Supervisor
    sim: SimClient
    risk: ControlClient
    token: str
    env: dict[str, str]
    barriers: BarrierStats = field(default_factory=BarrierStats)

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def pids(self) -> list[int]:
        return [p.process.pid for p in self.supervisor.processes]


def sync_instruments(env: Mapping[str, str]) -> str:
    """Run the instrument-sync job against the sim; its last line, or SupervisorError with its output."""
    done = subprocess.run(
        [sys.executable, *SYNC_JOB, "--source", env["SARATHI_EXECUTION_INSTRUMENT_MASTER_URL"]],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise SupervisorError(f"instrument sync failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else "synced"


@contextmanager
def system(
    plan: DayPlan,
    urls: Mapping[str, str],
    run_dir: Path,
    *,
    ports: Mapping[str, int] | None = None,
    say: Callable[[str], None] = lambda _: None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[System]:
    """sim (clock paused at the plan's start) and the five services, ready; all stopped on exit."""
    ports = dict(ports or SERVICES)
    token = secrets.token_urlsafe(24)
    env = service_env(plan, urls, ports["sim"], token, run_dir)
    supervisor = Supervisor(env=env, log_dir=run_dir / "logs", ports=ports)
    sim = SimClient(f"http://127.0.0.1:{ports['sim']}")
    risk = ControlClient(f"http://127.0.0.1:{ports['risk']}", token)
    try:
        supervisor.wait_ready(supervisor.start("sim"), on_wait=on_wait)
        say(f"sim ready: {plan.start_at:%a %d %b %Y %H:%M} IST, seed {plan.seed}, clock paused")
        say(f"Instruments: {sync_instruments(env)}")
        supervisor.start_group(TRADING_SERVICES, on_wait=on_wait)
        yield System(supervisor, sim, risk, token, env)
    finally:
        supervisor.stop_all()
        sim.close()


def run_session(
    running: System,
    plan: DayPlan,
    progress: ProgressLine | None = None,
    *,
    on_sample: Callable[[Sample], None] | None = None,
    poll_seconds: float = 1.0,
) -> list[Sample]:
    """Resume the clock, sample until the plan's end (market time), pause. Returns the samples.

    With `plan.hold_at_bar_closes`, market time is held at every bar close until the system has
    decided about the bar (`sarathi.cli.barriers`, figures in `running.barriers`).
    """
    barriers = None
    if plan.hold_at_bar_closes:
        barriers = BarCloseBarriers(running.database_url, plan.underlyings, stats=running.barriers)
    try:
        return _run_session(running, plan, progress, on_sample, poll_seconds, barriers)
    finally:
        if barriers is not None:
            barriers.close()


def _run_session(  # noqa: PLR0917 (private; the public signature above is keyword-only)
    running: System,
    plan: DayPlan,
    progress: ProgressLine | None,
    on_sample: Callable[[Sample], None] | None,
    poll_seconds: float,
    barriers: BarCloseBarriers | None,
) -> list[Sample]:
    samples: list[Sample] = []
    started = walltime.monotonic()
    barrier = BarCloseBarriers.next_close(plan.start_at, plan.end_at) if barriers else plan.end_at
    running.sim.run_until(barrier)
    running.sim.resume()
    last_sample = 0.0
    try:
        while True:
            now = running.sim.now()
            if barriers is not None and now >= barrier:
                barriers.wait(barrier, running.sim.now)
            if now >= plan.end_at or walltime.monotonic() - last_sample >= poll_seconds:
                sample = take_sample(running.sim, running.risk, samples[-1] if samples else None)
                samples.append(sample)
                last_sample = walltime.monotonic()
                if progress is not None:
                    progress.show(sample, last_sample - started)
                if on_sample is not None:
                    on_sample(sample)
            if now >= plan.end_at:
                break
            if now >= barrier:
                barrier = BarCloseBarriers.next_close(barrier, plan.end_at)
                running.sim.run_until(barrier)
                continue
            # Wall-clock pacing of an HTTP poll; market time is the sim's.
            left = (barrier - now).total_seconds() / float(plan.speed)
            walltime.sleep(min(poll_seconds, max(0.002, left)))
    finally:
        running.sim.pause()
    if progress is not None:
        progress.done()
    return samples


def settle(running: System, timeout_seconds: float = 20.0) -> tuple[Books, dict[str, Any]]:
    """With the clock paused, wait until our books agree with the broker's (or the timeout)."""
    deadline = walltime.monotonic() + timeout_seconds
    while True:
        books, state = load_books(running.database_url), running.sim.state()
        if all(c.ok for c in reconcile(books, state["broker"])) or walltime.monotonic() > deadline:
            return books, state
        walltime.sleep(0.25)  # wall-clock polling of another process's database writes


def still_running(pids: Sequence[int]) -> list[int]:
    """The pids among `pids` that still exist (zombies of our own children are reaped first)."""
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive.append(pid)
    return alive
