"""`sarathi`: run and operate Sarathi locally.

sarathi run [--seed N] [--speed X] [--date D] [--keep-running] [--report-dir DIR]
                               a whole simulated trading day through every service, with a report
sarathi up [--mode sim|paper] | sarathi down
                               the system in the background | stop it, leaving nothing running
sarathi status                 each service's health, then the trading state and today's P&L
sarathi positions | pause | resume | flatten | kill
                               the operator API of the risk service (`sarathi.cli.control`)
sarathi migrate                upgrade the database named by DATABASE_URL to the latest schema
sarathi instruments sync       download, validate and swap in Dhan's instrument master
"""

from __future__ import annotations

import argparse
import os

from sarathi.cli import background, control, instruments, run
from sarathi.cli.health import cmd_status
from sarathi.common.db import migrate


def cmd_migrate(_: argparse.Namespace) -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set")
        return 2
    migrate.upgrade(url)
    print("Database at the latest schema.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sarathi", description="Run and operate Sarathi locally.")
    commands = parser.add_subparsers(dest="command", required=True)
    run.add_command(commands)
    background.add_commands(commands)
    status = commands.add_parser("status", help="each service's health, the trading state and today's P&L")
    status.set_defaults(handler=cmd_status)
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
