"""`python -m sarathi.execution.refdata sync [--source URL|PATH]` (what `sarathi instruments sync` runs).

Progress lines go to stderr, the result to stdout; exit code 0 on success, 1 when the file was
rejected (the old tables are kept), 2 on bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, time

from pydantic import ValidationError

from sarathi.common.bus.nats import NatsBus
from sarathi.common.clock import IST
from sarathi.common.clock_source import ClockUnavailableError, running_clock
from sarathi.common.db.engine import create_engine
from sarathi.execution.refdata.sync import SyncOptions, run_sync
from sarathi.execution.settings import ExecutionSettings


def _progress(line: str) -> None:
    sys.stderr.write(f"  {line}\n")
    sys.stderr.flush()


# A one-off job gives up on NATS after a few seconds (a service retries for ever instead).
NATS_CONNECT_ATTEMPTS = 3


async def _now(settings: ExecutionSettings) -> datetime:
    """The service's 'now': the wall clock in live/paper, the sim's published clock in sim mode."""
    bus = await NatsBus.connect(  # ConnectionError when NATS does not answer
        settings.nats_url,
        name="sarathi-instruments-sync",
        connect_timeout_seconds=2,
        max_reconnect_attempts=NATS_CONNECT_ATTEMPTS - 1,
    )
    try:
        async with running_clock(settings.mode, bus, wait_seconds=10.0) as clock:
            return clock.now()
    finally:
        await bus.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sarathi instruments", description="Reference data from Dhan's scrip master."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="download, validate and swap in the instrument master")
    sync.add_argument("--source", help="URL or file of the detailed master (default: the setting)")
    sync.add_argument("--database-url", help="default: DATABASE_URL")
    sync.add_argument(
        "--today", type=date.fromisoformat, help="trading day YYYY-MM-DD (default: the mode's clock)"
    )
    args = parser.parse_args(argv)
    try:
        settings = ExecutionSettings()
    except ValidationError as exc:
        sys.stderr.write(f"invalid settings:\n{exc}\n")
        return 2
    options = SyncOptions(
        source=args.source or settings.instrument_master_url,
        min_option_rows=settings.instrument_min_option_rows,
        max_shrink_ratio=settings.instrument_max_shrink_ratio,
    )  # fmt: skip
    try:
        now = datetime.combine(args.today, time(8, 0), IST) if args.today else asyncio.run(_now(settings))
    except (OSError, ClockUnavailableError) as exc:
        sys.stderr.write(
            f"cannot tell today's date in {settings.mode} mode ({exc}); pass --today YYYY-MM-DD\n"
        )
        return 2
    engine = create_engine(args.database_url or settings.database_url)
    try:
        report = run_sync(engine, options, now, _progress)
    finally:
        engine.dispose()
    sys.stdout.write(f"{'OK' if report.ok else 'FAILED'}: {report.message}\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
