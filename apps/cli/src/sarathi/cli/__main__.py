"""`sarathi`: run and operate Sarathi locally.

sarathi run [--seed N] [--speed X] [--date D] [--keep-running] [--report-dir DIR] [--base-port P]
                               a whole simulated trading day through every service, with a report
sarathi up [--mode sim|paper|live] [--skip-doctor] | sarathi down
                               the system in the background | stop it, leaving nothing running
sarathi status                 each service's health, then the trading state and today's P&L
sarathi report --day D [--database-url URL] [--out DIR]
                               a deployed day's report and trades document, from the database
sarathi positions | pause | resume | flatten | kill
                               the operator API of the risk service (`sarathi.cli.control`)
sarathi migrate                upgrade the database named by DATABASE_URL to the latest schema
sarathi instruments sync       download, validate and swap in Dhan's instrument master
sarathi doctor [--mode M] [--json]
                               pre-market check of a mode: credentials, IP, funds, feed, calendar, ...
sarathi data download | list   index minute bars and expired options into a Parquet cache | what it holds

`sarathi` alone prints this help (exit 2). Each command's module registers its parser
(`add_command(s)`) and keeps its heavy imports (httpx, SQLAlchemy, NATS, the services) inside
its handlers, so `sarathi --help` and argument errors answer at once; a test checks that.
"""

from __future__ import annotations

import argparse
import sys

from sarathi.cli import background, control, data, doctor, instruments, report_day, run
from sarathi.cli.backtest import command as backtest

PACKAGE = "sarathi-cli"


def cmd_status(args: argparse.Namespace) -> int:
    from sarathi.cli.health import cmd_status as status

    return status(args)


def cmd_migrate(_: argparse.Namespace) -> int:
    from sarathi.common.db import migrate
    from sarathi.common.db.engine import display_url, first_line
    from sarathi.common.settings import SarathiSettings

    url = SarathiSettings().database_url  # DATABASE_URL, else the documented default
    try:
        migrate.upgrade(url)
    except Exception as exc:  # the operator's to fix (server down, wrong URL): one line, no traceback
        print(f"sarathi migrate: cannot upgrade {display_url(url)}: {first_line(exc)}", file=sys.stderr)
        return 1
    print(f"Database {display_url(url)} at the latest schema.")
    return 0


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(PACKAGE)
    except PackageNotFoundError:
        return "unknown (not installed)"


class _Version(argparse.Action):
    """`--version`: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"sarathi {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sarathi", description="Run and operate Sarathi locally.")
    parser.add_argument("--version", action=_Version)
    # The metavar lists the commands, so the internal ones (registered without help) stay hidden.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    run.add_command(commands)
    background.add_commands(commands)
    status = commands.add_parser("status", help="each service's health, the trading state and today's P&L")
    status.set_defaults(handler=cmd_status)
    report_day.add_command(commands)
    mig = commands.add_parser("migrate", help="upgrade DATABASE_URL to the latest schema")
    mig.set_defaults(handler=cmd_migrate)
    instruments.add_commands(commands)
    doctor.add_command(commands)
    data.add_commands(commands)
    backtest.add_commands(commands)
    control.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sarathi.common.domain.holiday_file import HolidayFileError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:  # `sarathi` alone: what it can do, as a usage error
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except HolidayFileError as exc:  # a broken SARATHI_HOLIDAYS_FILE: one line, no traceback
        print(f"sarathi {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
