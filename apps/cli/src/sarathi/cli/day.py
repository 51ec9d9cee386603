"""A simulated trading day through every real service, as separate processes.

`system(plan, urls, run_dir)` starts sim with its clock paused at the plan's start, syncs the
instruments from it, starts the five services and yields a `System`; `run_session` resumes the
clock, shows the progress line until the plan's end (market time), pauses the clock and waits
until our books have caught up with the broker's; `settle` returns what is needed for the report.

Why these settings for a fast day: the sim steps its market at most `steps_per_wall_second`
times a wall second, derived from the speed so that the market step stays 5 s (the risk loop's
period) at any speed. The feed's connection-staleness threshold is raised to a few steps, or
every gap between two steps would count as a stale connection. Orders reconciles every 15 market
minutes instead of every minute (each pass re-reads the day's order book).

The held day (`DayPlan.held`, the default): the sim holds market time at every step until the
five services have said on the bus that they are done with it (the clock protocol,
`sarathi.common.clock_hold` and `sarathi.sim.holds`), then moves straight to the next step. So
what each decision sees does not depend on how busy the machine is, and no market time is
spent waiting. This module only starts the day and watches the clock; it reads no service's
tables while the day runs, and each service runs its default risk configuration.
"""

from __future__ import annotations

import json
import math
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

from sarathi.cli.args import DEFAULT_DAY, DEFAULT_SEED, DEFAULT_SPEED
from sarathi.cli.books import Books, load_books
from sarathi.cli.control import ControlClient
from sarathi.cli.progress import ProgressLine, Sample, take_sample
from sarathi.cli.report import reconcile
from sarathi.cli.simclient import SimClient
from sarathi.cli.supervisor import SERVICES, Supervisor, SupervisorError
from sarathi.common.devservers import free_ports
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Underlying

SESSION_OPEN, SESSION_CLOSE = time(9, 15), time(15, 30)
TRADING_SERVICES = ("orders", "feed", "signals", "execution", "risk")
RECONCILE_EVERY_MARKET_SECONDS = 900
MARKET_STEP_SECONDS = 5  # the sim's base step and the risk loop's period
SYNC_JOB = ("-m", "sarathi.execution.refdata", "sync")
RECORDERS = ("FEED", "SIGNALS", "EXECUTION")  # the services that record what they read from Dhan
__all__ = ["DEFAULT_DAY", "DEFAULT_SEED", "DEFAULT_SPEED", "DayPlan", "System", "service_ports"]


@dataclass(frozen=True)
class DayPlan:
    day: date = DEFAULT_DAY
    seed: int = DEFAULT_SEED
    speed: Decimal = DEFAULT_SPEED
    start: time = SESSION_OPEN
    end: time = SESSION_CLOSE
    feed_steps_per_wall_second: int | None = None  # None: a 5-second market step at any speed
    held: bool = True  # the sim holds every step until the services are done with it
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
    def steps_per_wall_second(self) -> int:
        if self.feed_steps_per_wall_second is not None:
            return self.feed_steps_per_wall_second
        return max(1, math.ceil(float(self.speed) / MARKET_STEP_SECONDS))

    @property
    def market_step_seconds(self) -> float:
        return max(1.0, float(self.speed) / self.steps_per_wall_second)


def recording_dir(run_dir: Path) -> Path:
    """Where the day is recorded for `sarathi backtest --recording`: the feed's frames, the Dhan
    replies signals and execution acted on, and the instruments execution synced, side by side."""
    return run_dir / "recording"


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
        "SARATHI_SIM_ORDER_UPDATE_KEYS": "camel",  # the spelling the docs do not show: the tolerant path
        "SARATHI_SIM_MAX_FEED_STEPS_PER_WALL_SECOND": str(plan.steps_per_wall_second),
        "SARATHI_SIM_SUPER_CANCEL_REPLY": "empty",  # the day runs the docs' other variant (default: body)
        "SARATHI_FEED_CONNECTION_STALE_SECONDS": str(max(5.0, 3 * plan.market_step_seconds)),
        **{f"SARATHI_{name}_RECORDER_DIRECTORY": str(recording_dir(run_dir)) for name in RECORDERS},
        **(_held_day_env() if plan.held else {}),
        **plan.extra_env,
    }


def _held_day_env() -> dict[str, str]:
    return {
        # The clock protocol: the sim waits at each step for these services (`sarathi.sim.holds`).
        "SARATHI_SIM_CLOCK_PARTICIPANTS": json.dumps(list(TRADING_SERVICES)),
        # Each pass re-reads and re-records the day's whole order book; every 60 market seconds
        # at 1000× that is 16 passes a wall second, most of a core. The order-update stream
        # records everything as it happens; the passes are the backstop.
        "SARATHI_ORDERS_RECONCILE_INTERVAL_SECONDS": str(RECONCILE_EVERY_MARKET_SECONDS),
    }


def service_ports(base_port: int | None = None, environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """The HTTP port of each service of a day, in start order.

    `SARATHI_<SERVICE>_HTTP_PORT` in `environ` (default: this process's environment) fixes a
    service's port; else `base_port` lays them out as the defaults do (sim on it, feed on it + 1,
    ..., risk on it + 5); else a free port chosen by the kernel, so two days can run side by side
    and a day never meets a system started with `sarathi up` (which keeps the default ports).
    """
    environ = os.environ if environ is None else environ
    fixed: dict[str, int | None] = {}
    for name, default in SERVICES.items():
        given = environ.get(f"SARATHI_{name.upper()}_HTTP_PORT")
        if given:
            try:
                fixed[name] = int(given)
            except ValueError:
                raise ValueError(f"SARATHI_{name.upper()}_HTTP_PORT={given!r} is not a port number") from None
        elif base_port is not None:
            fixed[name] = base_port + default - SERVICES["sim"]
        else:
            fixed[name] = None
    free = iter(free_ports(sum(1 for port in fixed.values() if port is None)))
    return {name: port if port is not None else next(free) for name, port in fixed.items()}


@dataclass
class System:
    supervisor: Supervisor
    sim: SimClient
    risk: ControlClient
    token: str
    env: dict[str, str]
    holds: dict[str, Any] | None = None  # the sim's hold figures after a held session

    @property
    def orders_url(self) -> str:
        return f"http://127.0.0.1:{self.supervisor.ports['orders']}"

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
    """sim (clock paused at the plan's start) and the five services, ready; all stopped on exit.

    `ports`: each service's HTTP port; default `service_ports()` (free ports unless fixed)."""
    ports = dict(ports) if ports else service_ports()
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

    In a held day the sim holds every step itself; its figures land in `running.holds`."""
    sampler = _Sampler(running, progress, on_sample, poll_seconds)
    running.sim.run_until(plan.end_at)
    running.sim.resume()
    try:
        while True:
            clock = running.sim.clock()
            now = datetime.fromisoformat(clock["now"])
            # The end is reached once the sim has stepped it (a held day stands there first).
            ended = now >= plan.end_at and datetime.fromisoformat(clock["next_step"]) > plan.end_at
            if ended or sampler.due():
                sampler.take()
            if ended:
                running.holds = clock.get("holds")
                break
            # Wall-clock pacing of an HTTP poll; market time is the sim's.
            left = (plan.end_at - now).total_seconds() / float(plan.speed)
            walltime.sleep(min(poll_seconds, max(0.002, left)))
    finally:
        running.sim.pause()
    return sampler.finish()


def holds_summary(holds: dict[str, Any] | None) -> str:
    """One line on the sim's holds of a held day."""
    if holds is None:
        return "market time was not held"
    line = (
        f"held market time {holds['held']} times ({holds['rounds']} rounds of questions, "
        f"{holds['wall_seconds']:.1f}s)"
    )
    if not holds["let_go"]:
        return line + "; every hold was met"
    return line + f"; {holds['let_go']} let go unmet ({'; '.join(holds['let_go_examples'][:3])})"


@dataclass
class _Sampler:
    """The progress samples, taken at most every `poll_seconds` of wall time."""

    running: System
    progress: ProgressLine | None
    on_sample: Callable[[Sample], None] | None
    poll_seconds: float
    samples: list[Sample] = field(default_factory=list)
    started: float = field(default_factory=walltime.monotonic)
    last: float = 0.0

    def due(self) -> bool:
        return walltime.monotonic() - self.last >= self.poll_seconds

    def take(self) -> None:
        sample = take_sample(self.running.sim, self.running.risk, self.samples[-1] if self.samples else None)
        self.samples.append(sample)
        self.last = walltime.monotonic()
        if self.progress is not None:
            self.progress.show(sample, self.last - self.started)
        if self.on_sample is not None:
            self.on_sample(sample)

    def finish(self) -> list[Sample]:
        if self.progress is not None:
            self.progress.done()
        return self.samples


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
