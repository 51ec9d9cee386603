"""`sarathi report --day D`: a deployed day's report and trades document, from the database.

A system under `sarathi up` or a deployment keeps many days in PostgreSQL. This reads one IST
trading day's books (`books.load_books(url, day)`), builds the day's report without the broker's
books (nothing is reconciled: it says "not checked against the broker"), prints it as `sarathi
run` does and writes the same two files to `--out`: `sarathi-day-<day>-<mode>.html` and
`...-trades.json`, the document `sarathi backtest --recording DIR --compare` holds a replay against.

Which database: `--database-url`, else `SARATHI_DATABASE_URL` / `DATABASE_URL` (the environment,
then a `.env` file in the current directory), else the PostgreSQL of a running `sarathi up`
system (its state file), else the documented default. The database does not record the mode the
day traded in, which says where its prices came from: it is `SARATHI_MODE` (environment, `.env`;
unset: sim), or the running `sarathi up` system's when its database is the one read, and the
report names which. Bad input (a day without a session, a bad mode, a database that does not
answer, a day with no books) is refused in one line, exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sarathi.cli import args as cli_args
from sarathi.cli.prices import deployed_prices_line

# Imported by `sarathi --help` too: SQLAlchemy and the report are imported by the handler.

MODES = ("sim", "paper", "live")  # `sarathi.common.settings.Mode`
UP_SYSTEM = "the running `sarathi up` system"


@dataclass(frozen=True, slots=True)
class DeployedDay:
    """A day the services traded under `sarathi up` or a deployment (`report.DayInfo`)."""

    day: date
    mode: str  # sim, paper or live
    mode_from: str  # where the mode was read: "SARATHI_MODE", ...
    database: str  # the database's URL, password masked
    recording: str | None = None  # sim mode: the feed recording the sim plays (SARATHI_SIM_REPLAY_FILE)

    @property
    def seed(self) -> None:
        return None  # a deployed sim's seed is its own setting, not in the books

    @property
    def prices(self) -> str:
        return deployed_prices_line(self.mode, self.recording)

    @property
    def title(self) -> str:
        return f"Sarathi — {self.day:%a %d %b %Y} in {self.mode} mode"

    @property
    def headline(self) -> str:
        return f"{self.title} (from {self.mode_from}), the books in {self.database}"

    @property
    def about(self) -> str:
        return f"The books the services recorded in {self.database}; the mode from {self.mode_from}."

    @property
    def stem(self) -> str:
        return f"sarathi-day-{self.day}-{self.mode}"


@dataclass(frozen=True, slots=True)
class Source:
    """Where the day's books are and what mode wrote them."""

    database_url: str
    mode: str
    mode_from: str


class _Refused(Exception):  # noqa: N818 - a refusal of the command line, printed in one line
    pass


def source_of(database_url: str | None, environ: Mapping[str, str]) -> Source:
    """The database and the mode (module docstring); `_Refused` for a mode that is not one."""
    from sarathi.cli import runstate
    from sarathi.common.settings import SarathiSettings

    # SarathiSettings.database_url's names, in its order.
    url = database_url or environ.get("SARATHI_DATABASE_URL") or environ.get("DATABASE_URL")
    if not url:
        state = runstate.load()
        if state is not None and runstate.alive(state.pid) and "postgres" in state.components:
            return Source(state.components["postgres"].url, state.mode, UP_SYSTEM)
        url = str(SarathiSettings.model_fields["database_url"].default)
    mode = environ.get("SARATHI_MODE", "").strip().lower()
    if mode and mode not in MODES:
        raise _Refused(f"SARATHI_MODE {environ['SARATHI_MODE']!r} is not a mode: one of {', '.join(MODES)}")
    return Source(url, mode or "sim", "SARATHI_MODE" if mode else "SARATHI_MODE unset: sim, the default")


def _environ() -> dict[str, str]:
    """The environment, with a `.env` file's Sarathi settings under it (as `sarathi up` reads them)."""
    from sarathi.cli import doctor

    return {**doctor.dotenv(), **os.environ}


def cmd_report(args: argparse.Namespace) -> int:
    try:
        return _report(args)
    except _Refused as exc:
        print(f"sarathi report: error: {exc}", file=sys.stderr)
        return 2


def _report(args: argparse.Namespace) -> int:
    from sarathi.cli.books import load_books
    from sarathi.cli.day_files import write_report
    from sarathi.cli.prices import sim_recording
    from sarathi.cli.report import build_report, render_text
    from sarathi.common.db.engine import display_url, first_line
    from sarathi.common.domain.calendar import MarketCalendar

    environ = _environ()
    source = source_of(args.database_url, environ)
    try:
        shown = display_url(source.database_url)
        books = load_books(source.database_url, args.day)
    except Exception as exc:  # a bad URL, a server down, an unmigrated database: the operator's to fix
        where = _masked(source.database_url)
        raise _Refused(f"cannot read the books in {where}: {first_line(exc)}") from None
    if books.empty:
        raise _Refused(f"no books for {args.day} in {shown}: no order, position, signal or decision that day")
    try:
        args.out.mkdir(parents=True, exist_ok=True)  # checked by `cli_args.writable_dir` already
    except OSError as exc:
        raise _Refused(f"argument --out: cannot write to {args.out}: {exc.strerror or exc}") from None
    recording = sim_recording({}, environ) if source.mode == "sim" else None
    info = DeployedDay(args.day, source.mode, source.mode_from, shown, recording)
    report = build_report(books, None, info)  # no broker's books: nothing reconciled
    print(render_text(report))
    calendar = MarketCalendar()
    # The database keeps no index prices: the page has no index chart.
    start, end = calendar.session_open(args.day), calendar.session_close(args.day)
    trades = write_report(report, {}, start, end, report_dir=args.out, say=print)
    print(f"  replay the day's recording against it: sarathi backtest --recording DIR --day {args.day} "
          f"--compare {trades}")  # fmt: skip
    return 0


def _masked(url: str) -> str:
    """`url` without its password, even when it does not parse."""
    from sarathi.common.db.engine import display_url

    try:
        return display_url(url)
    except Exception:  # not a URL SQLAlchemy reads: name none of it
        return "the database URL given"


def add_command(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="a deployed day's report and trades document, from the database's books"
    )
    report.add_argument(
        "--day", type=cli_args.trading_day, required=True, metavar="YYYY-MM-DD",
        help="the IST trading day; a weekend, an exchange holiday or a year the calendar does not"
        " cover is refused",
    )  # fmt: skip
    report.add_argument(
        "--database-url", default=None, metavar="URL",
        help="the database (default: SARATHI_DATABASE_URL / DATABASE_URL, from the environment or"
        " .env; else a running `sarathi up` system's; else postgresql://postgres@127.0.0.1:5432/sarathi)",
    )  # fmt: skip
    report.add_argument(
        "--out", type=cli_args.writable_dir, default=".run/reports", metavar="DIR",
        help="where the HTML report and the trades document go (default %(default)s)",
    )  # fmt: skip
    report.set_defaults(handler=cmd_report)
