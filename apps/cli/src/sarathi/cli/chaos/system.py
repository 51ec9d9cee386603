"""One `sarathi up` system under fault trials, driven from outside as a user would.

`UpSystem` starts `sarathi up` (sim mode) in its own run directory, reads its run state
(`sarathi.cli.runstate`, schema 2: per component its pid, url and restarts), kills a component
with SIGKILL, waits until `_serve` has restarted it and every service answers `/readyz` again,
and settles the system: one reconciliation pass of orders after the restart, then the sim's
clock paused and polled until nothing is in flight (orders has handled every order update the
sim sent and published its outbox, no durable consumer of commands or order and risk events has
work pending, two reads in a row equal), when our books and the broker's are read. A settle
that takes more than a few seconds lets market time move 10 market seconds (and stop again):
some waits count market seconds.

All waits are wall-clock polls of other processes, each with a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time as walltime
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from sarathi.cli.books import Books, load_books
from sarathi.cli.chaos.probe import JetStreamProbe, sim_activity
from sarathi.cli.chaos.quiet import Look, Settling
from sarathi.cli.health import readiness
from sarathi.cli.simclient import SimClient

# The streams whose consumers change our books or the broker's (signals → execution only
# decides; its submit commands show up on ORDER_CMD). Execution may wait on a rate limit that
# counts market seconds while the clock is paused, so SIGNALS is left out.
SETTLE_STREAMS = ("ORDER_CMD", "ORDER_EVT", "RISK_EVT")
UP_TIMEOUT_SECONDS = 240.0
# A settle that has not come within this many wall seconds lets market time move this much.
NUDGE_AFTER_SECONDS, NUDGE_MARKET_SECONDS = 5.0, 10.0
POLL_SECONDS = 0.1


class ChaosError(RuntimeError):
    """The system could not be started, read or stopped; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One component as the run state shows it."""

    pid: int | None
    restarts: int
    state: str
    url: str


def components(state: Mapping[str, Any]) -> dict[str, Seen]:
    """The run state's components (schema 2), by name; empty for a state without them."""
    return {
        name: Seen(c.get("pid"), int(c.get("restarts", 0)), str(c.get("state", "")), str(c.get("url", "")))
        for name, c in state.get("components", {}).items()
    }


def restarted(before: Seen, now: Seen | None, killed_pid: int) -> bool:
    """Whether `_serve` has brought the component back: a new pid, one restart more.

    The pid is null while the component waits for its restart; its `state` may say "failing"
    while it runs again (it kept dying), so the state is not asked.
    """
    return (
        now is not None and now.pid is not None and now.pid != killed_pid and now.restarts > before.restarts
    )


@dataclass(frozen=True, slots=True)
class Settled:
    books: Books
    broker: dict[str, Any]
    seconds: float


class UpSystem:
    """`sarathi up` in `run_dir`, with its own NATS and PostgreSQL."""

    def __init__(self, run_dir: Path, *, seed: int, speed: Decimal, day: date) -> None:
        self.run_dir = run_dir
        self._args = ["--mode", "sim", "--seed", str(seed), "--speed", str(speed), "--date", str(day)]
        env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
        self._env = env | {"SARATHI_RUN_DIR": str(run_dir)}
        self._sim: SimClient | None = None
        self._frames_offset = 0  # order updates the sim sent that orders will never handle

    # -- start and stop ---------------------------------------------------------------------------

    def up(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # --fresh: a system starts from empty data (`up` otherwise carries on from the last one).
        done = self._cli("up", "--fresh", *self._args, timeout=UP_TIMEOUT_SECONDS)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-2000:]
            raise ChaosError(f"`sarathi up` failed (exit {done.returncode}; {self.run_dir}):\n{output}")
        self._sim = SimClient(self.url("sim"))
        self.components()  # a `sarathi up` that does not supervise is refused before any kill

    def down(self) -> str:
        if self._sim is not None:
            self._sim.close()
            self._sim = None
        done = self._cli("down", timeout=120.0)
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else f"exit {done.returncode}"

    def _cli(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sarathi.cli", *args],
            env=self._env, capture_output=True, text=True, check=False, timeout=timeout,
        )  # fmt: skip

    # -- reading the run state --------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        try:
            raw: dict[str, Any] = json.loads((self.run_dir / "state.json").read_text())
        except (OSError, ValueError) as exc:
            raise ChaosError(f"no run state in {self.run_dir}: {exc}") from exc
        return raw

    def components(self) -> dict[str, Seen]:
        found = components(self.state())
        if not found:
            raise ChaosError(
                "the run state names no components: this `sarathi up` does not supervise"
                " (restart) what dies (run state schema 2 is needed)"
            )
        return found

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.state()['ports'][service]}"

    @property
    def sim(self) -> SimClient:
        if self._sim is None:
            raise ChaosError("the system is not up")
        return self._sim

    def market_now(self) -> datetime:
        return self.sim.now()

    # -- a kill and the restart -------------------------------------------------------------------

    def kill(self, name: str) -> tuple[Seen, int]:
        """SIGKILL the component's process; (what the run state showed before, the pid killed)."""
        before = self.components().get(name)
        if before is None or before.pid is None:
            raise ChaosError(
                f"{name} is not a running component of this system ({sorted(self.components())})"
            )
        os.kill(before.pid, signal.SIGKILL)
        return before, before.pid

    def wait_running(self, name: str, timeout_seconds: float) -> bool:
        """Until the component has a process (it may be waiting for a restart after dying)."""
        deadline = walltime.monotonic() + timeout_seconds
        while (seen := self.components().get(name)) is None or seen.pid is None:
            if walltime.monotonic() > deadline:
                return False
            walltime.sleep(POLL_SECONDS)  # wall-clock poll of another process
        return True

    def wait_back(self, name: str, before: Seen, killed_pid: int, timeout_seconds: float) -> bool:
        """Until `_serve` restarted the component and every service answers `/readyz` 200."""
        deadline = walltime.monotonic() + timeout_seconds
        while walltime.monotonic() < deadline:
            if restarted(before, self.components().get(name), killed_pid):
                ports = self.state()["ports"]
                if all(ok for ok, _ in readiness(ports).values()):
                    return True
            walltime.sleep(POLL_SECONDS)  # wall-clock poll of another process
        return False

    def wait_reconciled(self, timeout_seconds: float) -> bool:
        """Until orders has finished a reconciliation pass begun after now (market time runs).

        Passes are counted when they finish, so one more than now may have begun before now:
        two more cannot.
        """
        deadline = walltime.monotonic() + timeout_seconds
        first: int | None = None
        with httpx.Client(base_url=self.url("orders"), timeout=5.0) as orders:
            while walltime.monotonic() < deadline:
                try:
                    status = orders.get("/status").raise_for_status().json()
                except httpx.HTTPError:
                    status = None
                if status is not None and status["reconciled"]:
                    passes = int(status["reconciliation_passes"])
                    first = passes if first is None else first
                    if passes >= first + 2:
                        return True
                walltime.sleep(POLL_SECONDS)  # wall-clock poll of another process
        return False

    # -- settling and reading both books ----------------------------------------------------------

    def settle(self, timeout_seconds: float) -> tuple[Settled | None, str]:
        """Pause the clock and read both books once nothing is in flight (`quiet.Settling`);
        (None, what was still in flight) on timeout. The clock stays paused: `resume`."""
        started = walltime.monotonic()
        self.sim.pause()
        settling = Settling(self._frames_offset)
        look: Look | None = None
        why = "no read answered"
        nudged = started
        with httpx.Client(base_url=self.url("orders"), timeout=5.0) as orders:
            probe: JetStreamProbe | None = None
            try:
                while walltime.monotonic() - started < timeout_seconds:
                    try:
                        probe = probe or JetStreamProbe(self.nats_url(), streams=SETTLE_STREAMS)
                        look = self._look(probe, orders)
                        if settling.see(look, walltime.monotonic()):
                            books, broker = load_books(self.database_url()), self.sim.state()["broker"]
                            if self._look(probe, orders).marks == look.marks:
                                self._frames_offset = settling.offset
                                return Settled(books, broker, walltime.monotonic() - started), ""
                        why = look.describe(settling.offset)
                        if walltime.monotonic() - nudged >= NUDGE_AFTER_SECONDS:
                            self._nudge()
                            nudged = walltime.monotonic()
                    except ChaosError:
                        raise
                    except (
                        Exception
                    ) as exc:  # a read that fails (NATS or PostgreSQL coming back) is "not yet"
                        why = f"a read failed: {type(exc).__name__}: {str(exc)[:200]}"
                    walltime.sleep(POLL_SECONDS)  # wall-clock poll of other processes
            finally:
                if probe is not None:
                    probe.close()
        return None, f"still in flight after {timeout_seconds:.0f}s: {why}"

    def _nudge(self) -> None:
        """Let market time run `NUDGE_MARKET_SECONDS` and stop there (the sim's run-until barrier).

        Some waits count market seconds: orders resolving a command whose broker call a kill cut
        short waits for the order to stay invisible a few market seconds before it may send it.
        With the clock paused that wait never ends.
        """
        self.sim.run_until(self.sim.now() + timedelta(seconds=NUDGE_MARKET_SECONDS))
        self.sim.resume()

    def resume(self) -> None:
        """Market time runs on (no barrier, not paused)."""
        self.sim.run_until(None)
        self.sim.resume()

    def nats_url(self) -> str:
        found = self.components().get("nats")
        if found is None:
            raise ChaosError("the run state names no NATS url")
        return found.url

    def database_url(self) -> str:
        found = self.components().get("postgres")
        if found is None:
            raise ChaosError("the run state names no PostgreSQL url")
        return found.url

    def _look(self, probe: JetStreamProbe, orders: httpx.Client) -> Look:
        """One read of orders, the sim and the consumers (raises if one does not answer)."""
        sim = self.sim.progress()
        status = orders.get("/status").raise_for_status().json()
        consumers = probe.read()
        return Look(
            reconciled=bool(status["reconciled"]),
            frames_behind=int(sim["order_update_frames"]) - int(status["order_update_frames"]),
            outbox_pending=int(status["outbox_pending"]),
            consumers_pending=consumers.pending,
            consumers_busy=consumers.busy,
            marks=(
                sim_activity(sim),
                status["order_update_frames"],
                status["events_published"],
                status["reconciliation_passes"],
                consumers.marks,
            ),
        )
