"""`sarathi up` / `sarathi down`: the whole system in the background, in sim, paper or live mode.

`up` starts a detached `sarathi _serve` process that owns NATS, PostgreSQL (unless their URLs
are given) and the six services, and returns once everything answers `/readyz`; the state file
(`sarathi.cli.runstate`) says where everything is. `_serve` is a small supervisor: a component
that dies (a service, NATS or PostgreSQL) is reaped and restarted with the same command line on
the same port, after a capped exponential backoff (`sarathi.cli.watchdog`); the state file counts
the restarts. `down` asks `_serve` to stop (SIGTERM: it stops the services in reverse order, then
the servers), waits, and checks nothing is left.

The run's data is kept across `down` / `up`: PostgreSQL's cluster, NATS's JetStream store, the
sim's paper-broker state (`SARATHI_SIM_STATE_DIR`), the logs and the feed recordings, all under
the run directory (`.run/up`; as root PostgreSQL's cluster may live outside it, linked from it:
`sarathi.common.pg_system_user`). `up --fresh` wipes them first.

sim mode: the sim's clock starts at `--date` 09:15 IST (default: the next session open) at
`--speed` (default 1, real time). paper mode: the real Dhan feed (SARATHI_DHAN_CLIENT_ID and
SARATHI_DHAN_ACCESS_TOKEN must be set), the sim as the broker filling on the real ticks, wall clock.
live mode: every service talks to Dhan itself (no sim); it also needs SARATHI_LIVE_TRADING=armed.
Credentials may come from a `.env` file in the current directory (the environment wins). Paper and
live run `sarathi doctor`'s Dhan checks first and refuse to start on a failed one (`--skip-doctor`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sarathi.cli import args as cli_args
from sarathi.cli import infra, runstate
from sarathi.cli.watchdog import Supervised, Watchdog
from sarathi.common import devservers

# Imported by `sarathi --help` too: the heavy modules (httpx, SQLAlchemy) are imported by the handlers.

UP_TIMEOUT_SECONDS = 180.0
DOWN_TIMEOUT_SECONDS = 60.0
WATCH_EVERY_SECONDS = 0.5  # how often `_serve` looks for a dead component
PAPER_FEED_URL = "wss://api-feed.dhan.co"


def _env(args: argparse.Namespace, urls: dict[str, str], token: str, run_dir: Path) -> dict[str, str]:
    from sarathi.cli import day as days
    from sarathi.cli.supervisor import SERVICES

    # Nothing holds the market in the background: the services keep their own defaults.
    plan = days.DayPlan(
        day=args.date or days.DEFAULT_DAY,
        seed=args.seed,
        speed=args.speed,
        held=False,
    )
    env = days.service_env(plan, urls, SERVICES["sim"], token, run_dir)
    env["SARATHI_SIM_START_PAUSED"] = "false"
    env["SARATHI_SIM_STATE_DIR"] = str(run_dir / "sim")  # the paper broker survives a sim restart
    if args.date is None:
        del env["SARATHI_SIM_START"]  # the sim's default: the next session open
    if args.mode == "paper":
        # Wall clock; the instrument master is execution's own setting (real ids need Dhan's master).
        for key in ("SARATHI_SIM_START", "SARATHI_SIM_SPEED", "SARATHI_SIM_START_PAUSED",
                    "SARATHI_EXECUTION_INSTRUMENT_MASTER_URL"):  # fmt: skip
            env.pop(key, None)
        env |= {
            "SARATHI_MODE": "paper",
            "SARATHI_DHAN_FEED_URL": os.environ.get("SARATHI_DHAN_FEED_URL", PAPER_FEED_URL),
            "SARATHI_SIM_CLIENT_ID": os.environ["SARATHI_DHAN_CLIENT_ID"],
            "SARATHI_SIM_ACCESS_TOKEN": os.environ["SARATHI_DHAN_ACCESS_TOKEN"],
        }
    if args.mode == "live":  # everything talks to Dhan itself; no sim
        from sarathi.cli.doctor import DHAN_FEED_URL, DHAN_ORDER_UPDATE_URL, DHAN_REST_URL

        env = {k: v for k, v in env.items() if not k.startswith("SARATHI_SIM_")}
        env |= {
            "SARATHI_MODE": "live",
            "SARATHI_DHAN_REST_URL": os.environ.get("SARATHI_DHAN_REST_URL", DHAN_REST_URL),
            "SARATHI_DHAN_FEED_URL": os.environ.get("SARATHI_DHAN_FEED_URL", DHAN_FEED_URL),
            "SARATHI_DHAN_ORDER_UPDATE_URL": os.environ.get(
                "SARATHI_DHAN_ORDER_UPDATE_URL", DHAN_ORDER_UPDATE_URL
            ),
            "SARATHI_DHAN_CLIENT_ID": os.environ["SARATHI_DHAN_CLIENT_ID"],
            "SARATHI_DHAN_ACCESS_TOKEN": os.environ["SARATHI_DHAN_ACCESS_TOKEN"],
        }
        from sarathi.execution.settings import DHAN_DETAILED_MASTER

        master = "SARATHI_EXECUTION_INSTRUMENT_MASTER_URL"
        env[master] = os.environ.get(master, DHAN_DETAILED_MASTER)
    return env


def cmd_serve(args: argparse.Namespace) -> int:
    """The background owner of a system started by `sarathi up` (not for direct use)."""
    from sarathi.cli import day as days
    from sarathi.cli.supervisor import SERVICES, Supervisor, SupervisorError
    from sarathi.common.db import migrate

    run_dir = runstate.run_dir().resolve()
    if args.fresh:
        infra.wipe(run_dir)
    token = secrets.token_urlsafe(24)
    state = runstate.RunState(
        pid=os.getpid(), mode=args.mode, ports=dict(SERVICES), token=token, run_dir=str(run_dir)
    )
    runstate.save(state)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        with infra.servers(run_dir, lambda text: print(text, flush=True)) as servers:
            migrate.upgrade(servers.urls["DATABASE_URL"])
            supervisor = Supervisor(env=_env(args, servers.urls, token, run_dir), log_dir=run_dir / "logs")
            try:
                if args.mode != "live":  # live: Dhan is the broker and the feed
                    supervisor.wait_ready(supervisor.start("sim"))
                if args.mode == "sim":
                    print(days.sync_instruments(supervisor.env), flush=True)
                supervisor.start_group(days.TRADING_SERVICES)
                services = [supervisor.unit(p.name) for p in supervisor.processes]
                _supervise(state, [*servers.units, *services], stop)
            finally:
                supervisor.stop_all()
    except (SupervisorError, devservers.DevServerError) as exc:
        state.detail = str(exc)
        runstate.save(state)
        print(f"sarathi _serve failed: {exc}", flush=True)
        return 1
    runstate.state_path().unlink(missing_ok=True)
    return 0


def _supervise(state: runstate.RunState, units: Sequence[Supervised], stop: threading.Event) -> None:
    """Record every component, then restart what dies until `stop` is set."""
    state.components = {
        unit.name: runstate.Component(pid=unit.pid(), port=unit.port, url=unit.url, data=unit.data)
        for unit in units
    }
    state.ready = True
    _save_pids(state)
    watchdog = Watchdog(units, state.components, say=lambda text: print(text, flush=True))
    while not stop.wait(WATCH_EVERY_SECONDS):  # wall-clock watch over OS processes
        if watchdog.check(time.monotonic()):
            _save_pids(state)


def _save_pids(state: runstate.RunState) -> None:
    state.service_pids = [c.pid for c in state.components.values() if c.pid is not None]
    runstate.save(state)


def _refusal(args: argparse.Namespace) -> str:
    """Why `up` must not start `args.mode` ("" when it may); reads a `.env` file into the environment."""
    from sarathi.cli import doctor
    from sarathi.common.settings import LIVE_ARMING_WORD

    os.environ.update(doctor.dotenv())  # credentials may come from `.env`; the environment wins
    if args.mode == "sim":
        return ""
    if not (os.environ.get("SARATHI_DHAN_CLIENT_ID") and os.environ.get("SARATHI_DHAN_ACCESS_TOKEN")):
        needs = "SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN (environment or .env)"
        return f"{args.mode} mode needs {needs}."
    if args.mode == "live" and os.environ.get("SARATHI_LIVE_TRADING") != LIVE_ARMING_WORD:
        return f"live mode needs SARATHI_LIVE_TRADING={LIVE_ARMING_WORD}; refusing to start."
    if args.skip_doctor:
        return ""
    checks = doctor.diagnose(args.mode, dict(os.environ), infrastructure=False)
    print(doctor.render(checks))
    from sarathi.cli.doctor.verdicts import failed

    if failed(checks):
        return "a doctor check failed (above); fix it, or start anyway with --skip-doctor."
    return ""


def _holidays_refusal() -> str:
    """Every service would refuse to start on a bad SARATHI_HOLIDAYS_FILE: say so once, here."""
    from sarathi.common.domain.holiday_file import HolidayFileError, default_holidays

    try:
        default_holidays()
    except HolidayFileError as exc:
        return f"{exc}; refusing to start."
    return ""


def cmd_up(args: argparse.Namespace) -> int:
    current = runstate.load()
    if current is not None and runstate.alive(current.pid):
        print(f"Sarathi is already running in the background (pid {current.pid}); `sarathi down` stops it.")
        return 1
    refusal = _refusal(args) or _holidays_refusal()  # after `_refusal` read `.env`
    if refusal:
        print(refusal)
        return 2
    run_dir = runstate.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    runstate.state_path().unlink(missing_ok=True)
    command = [sys.executable, "-m", "sarathi.cli", "_serve", "--mode", args.mode, "--seed", str(args.seed)]
    command += ["--speed", str(args.speed)] + (["--date", str(args.date)] if args.date else [])
    command += ["--fresh"] if args.fresh else []
    log = run_dir / "serve.log"
    with log.open("ab") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    kept = "from empty data (--fresh)" if args.fresh else f"with the data kept in {run_dir.resolve()}"
    print(f"Starting Sarathi in {args.mode} mode in the background, {kept} (log {log}) ...", flush=True)
    deadline = time.monotonic() + UP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:  # wall-clock wait on another process
        state = runstate.load()
        if state is not None and state.ready:
            from sarathi.cli.health import render_health

            print(render_health(state.ports))
            for name, component in state.components.items():
                if component.data:
                    print(f"{name} data: {component.data}")
            print("\n`sarathi status` shows health and trading state; `sarathi down` stops everything.")
            return 0
        if child.poll() is not None:
            print(f"sarathi up failed (exit {child.returncode}):\n{devservers.log_tail(log)}")
            return 1
        time.sleep(0.3)
    print(f"not ready after {UP_TIMEOUT_SECONDS:.0f}s; stopping. Log:\n{devservers.log_tail(log)}")
    _stop(child.pid, [])
    return 1


def cmd_down(_: argparse.Namespace) -> int:
    state = runstate.load()
    if state is None or not runstate.alive(state.pid):
        leftovers = [p for p in (state.service_pids if state else []) if runstate.alive(p)]
        runstate.state_path().unlink(missing_ok=True)
        if leftovers:
            _stop(None, leftovers)
        print("Sarathi is not running in the background.")
        return 0
    print(f"Stopping Sarathi (pid {state.pid}) ...", flush=True)
    left = _stop(state.pid, state.service_pids)
    runstate.state_path().unlink(missing_ok=True)
    if left:
        print(f"Still running after SIGKILL: {left}")
        return 1
    print("Stopped. Nothing left running.")
    return 0


def _stop(pid: int | None, service_pids: list[int]) -> list[int]:
    """SIGTERM the owner and wait; SIGKILL whatever is left. Returns what still runs."""
    if pid is not None and runstate.alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT_SECONDS
        while runstate.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    for leftover in [p for p in [*(service_pids or []), *([pid] if pid else [])] if runstate.alive(p)]:
        os.kill(leftover, signal.SIGKILL)
    time.sleep(0.2)
    return [p for p in [*(service_pids or []), *([pid] if pid else [])] if runstate.alive(p)]


def add_commands(commands: Any) -> None:
    up = commands.add_parser("up", help="start everything in the background (sim, paper or live mode)")
    serve = commands.add_parser("_serve")  # the background owner started by `up`: no help, not listed
    for parser in (up, serve):
        parser.add_argument(
            "--mode", choices=("sim", "paper", "live"), default="sim", help="default %(default)s"
        )
        parser.add_argument(
            "--seed", type=cli_args.seed, default=cli_args.DEFAULT_SEED, help="sim market seed, 0 or more"
        )
        parser.add_argument(
            "--speed", type=cli_args.speed, default=cli_args.MIN_SPEED,
            help="sim clock speed, 1–2000 (default 1)",
        )  # fmt: skip
        parser.add_argument(
            "--date", type=cli_args.trading_day, default=None, help="sim trading day (default: next open)"
        )
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="wipe the data kept from the last `up` (database, NATS store, sim broker state, logs)"
            " and start empty; without it `up` carries on from that data",
        )
    up.add_argument(
        "--skip-doctor",
        action="store_true",
        help="paper/live: start even when a `sarathi doctor` check fails",
    )
    up.set_defaults(handler=cmd_up)
    serve.set_defaults(handler=cmd_serve)
    down = commands.add_parser("down", help="stop what `sarathi up` started, leaving nothing running")
    down.set_defaults(handler=cmd_down)
