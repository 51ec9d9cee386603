"""Argument types of the `sarathi` commands: bad input is refused by argument parsing, in one line,
before NATS, PostgreSQL or any service starts.

Each function is an argparse `type=`: it returns the parsed value or raises
`argparse.ArgumentTypeError` with the reason (argparse prints `sarathi run: error: argument
--date: ...` and exits 2). This module is imported for every command, `--help` included, so it
imports nothing heavy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_DAY = date(2026, 9, 16)  # a Wednesday: no index expires that day
DEFAULT_SEED = 20260915
# The clock's speed; in the held day (the sim's clock protocol) market time moves straight from
# one step to the next, so it matters only to a day that is not held.
DEFAULT_SPEED = Decimal(1000)
MIN_SPEED, MAX_SPEED = Decimal(1), Decimal(2000)  # the sim's own bounds (SARATHI_SIM_SPEED)
MAX_SEED = 2**63 - 1
MIN_PORT, MAX_PORT = 1024, 65535
SERVICE_COUNT = 6  # sim and the five services (`sarathi.cli.supervisor.SERVICES`)


def trading_day(text: str) -> date:
    """A YYYY-MM-DD the market calendar knows to be a trading day (NSE)."""
    from sarathi.common.domain.calendar import CalendarCoverageError, MarketCalendar
    from sarathi.common.domain.holiday_file import HolidayFileError
    from sarathi.common.domain.instruments import Exchange

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    try:
        calendar = MarketCalendar()
    except HolidayFileError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    try:
        if calendar.is_trading_day(day):
            return day
    except CalendarCoverageError:
        years = ", ".join(str(y) for y in sorted(calendar.holidays.covered_years))
        raise argparse.ArgumentTypeError(
            f"{day} is outside the market calendar (it covers {years}): its trading days are not known"
        ) from None
    holiday = calendar.holidays.holiday_on(day, Exchange.NSE)
    why = f"an exchange holiday ({holiday.name})" if holiday else f"a {day:%A}"
    hint = ""
    with contextlib.suppress(CalendarCoverageError):  # the calendar's last days: no hint
        hint = f"; the next trading day is {calendar.next_trading_day(day)}"
    raise argparse.ArgumentTypeError(f"{day} is {why}: no trading session{hint}")


def speed(text: str) -> Decimal:
    """Market seconds per wall second: a number from 1 to 2000."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or not MIN_SPEED <= value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{text} is out of range: from {MIN_SPEED} to {MAX_SPEED}")
    return value


def seed(text: str) -> int:
    """The market seed: a whole number from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text} is out of range: from 0 to {MAX_SEED}")
    return value


def base_port(text: str) -> int:
    """The first of the six services' ports (sim's; risk's is 5 above): 1024 to 65530."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not MIN_PORT <= value <= MAX_PORT - SERVICE_COUNT + 1:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: from {MIN_PORT} to {MAX_PORT - SERVICE_COUNT + 1}"
        )
    return value


def writable_dir(text: str) -> Path:
    """A directory we can create files in: it exists and is writable, or it can be created.

    Nothing is created here (argparse also converts the default): the nearest existing ancestor
    must be a writable directory. The command creates the directory when it runs.
    """
    path = Path(text).expanduser()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write to {text}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write to {text}: {existing} is not writable")
    return path
