"""`sarathi instruments sync`: download, validate and swap in Dhan's instrument master.

The job itself lives with the execution service (`python -m sarathi.execution.refdata`), which
also runs it daily before the open; this command runs it as a child process, as the supervisor
runs services, so its progress lines (stderr) and result (stdout) reach the terminal unchanged
and its exit code is the command's: 0 synced, 1 rejected (old tables kept), 2 bad settings.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

JOB = ("-m", "sarathi.execution.refdata", "sync")


def cmd_sync(args: argparse.Namespace) -> int:
    extra = []
    if args.source:
        extra += ["--source", args.source]
    if args.today:
        extra += ["--today", args.today]
    if args.database_url:
        extra += ["--database-url", args.database_url]
    return subprocess.run([sys.executable, *JOB, *extra], check=False).returncode


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `instruments sync` to the `sarathi` parser."""
    instruments = commands.add_parser("instruments", help="reference data from Dhan's scrip master")
    sub = instruments.add_subparsers(dest="instruments_command", required=True)
    sync = sub.add_parser("sync", help="download, validate and swap in the instrument master")
    sync.add_argument("--source", help="URL or file of the detailed master (default: the execution setting)")
    sync.add_argument("--today", help="trading day YYYY-MM-DD (default: the mode's clock)")
    sync.add_argument("--database-url", help="default: DATABASE_URL")
    sync.set_defaults(handler=cmd_sync)
