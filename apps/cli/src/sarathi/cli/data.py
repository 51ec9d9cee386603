"""`sarathi data download` and `sarathi data list`: the history cache for backtests.

Bad arguments are refused in one line, exit 2, before anything starts: a date that is not
YYYY-MM-DD, an unknown underlying, a bad range (from after to; to not before today with Dhan, or
outside the sim's calendar; from more than five years back), `--source dhan` without credentials.
With `--source sim` and no `SARATHI_DHAN_REST_URL`, a sim is started for the download
(`python -m sarathi.sim` on a free port, its clock paused at the end of the market calendar, so
every covered day is history; anchored at 2026-09-16, the day `sarathi run` trades) and stopped
after; with `SARATHI_DHAN_REST_URL` the running sim (or any Dhan) there is used.
Heavy imports (polars, httpx, dhanhq) happen in the handlers.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sarathi.cli.args import DEFAULT_DAY, DEFAULT_SEED, seed, writable_dir

DHAN_REST_URL = "https://api.dhan.co/v2"
DEFAULT_DATA_DIR = ".run/data"  # beside .run/reports and .run/up: a fresh clone needs nothing else
HISTORY_YEARS = 5  # Dhan keeps 5 years of minute history (REFERENCE §7.2, §7.4)
UNDERLYINGS = ("NIFTY", "BANKNIFTY", "SENSEX")


def iso_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def underlyings(text: str) -> list[str]:
    names = [n.strip().upper() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in UNDERLYINGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown underlying {', '.join(unknown) or repr(text)}: use {', '.join(UNDERLYINGS)}"
        )
    return list(dict.fromkeys(names))


def expiry_flags(text: str) -> tuple[str, ...]:
    flags = tuple(dict.fromkeys(f.strip().upper() for f in text.split(",") if f.strip()))
    if not flags or any(f not in ("WEEK", "MONTH") for f in flags):
        raise argparse.ArgumentTypeError(f"{text!r}: use WEEK, MONTH or WEEK,MONTH")
    return flags


def strikes(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 10:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number from 0 to 10 (ATM-N .. ATM+N)")
    return int(text)


def add_commands(commands: Any) -> None:
    data = commands.add_parser("data", help="history for backtests: download, list")
    verbs = data.add_subparsers(dest="verb", metavar="VERB", required=True)
    down = verbs.add_parser("download", help="index minute bars and expired options into the Parquet cache")
    down.add_argument("--source", choices=("sim", "dhan"), default="sim")
    down.add_argument("--from", dest="first", type=iso_day, required=True, metavar="YYYY-MM-DD")
    down.add_argument("--to", dest="last", type=iso_day, required=True, metavar="YYYY-MM-DD")
    down.add_argument("--underlyings", type=underlyings, default=list(UNDERLYINGS), metavar="NIFTY,...")
    down.add_argument("--strikes", type=strikes, default=10, help="ATM-N .. ATM+N (default 10)")
    down.add_argument("--expiry-flags", type=expiry_flags, default=("WEEK", "MONTH"), metavar="WEEK,MONTH")
    down.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="the sim's seed (--source sim)")
    _data_dir(down)
    down.set_defaults(handler=cmd_download, parser=down)
    listed = verbs.add_parser("list", help="what the cache holds, per source, underlying, kind and month")
    _data_dir(listed)
    listed.set_defaults(handler=cmd_list)


def _data_dir(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("SARATHI_DATA_DIR", DEFAULT_DATA_DIR)
    parser.add_argument("--data-dir", type=writable_dir, default=default, help=f"(default {default})")


def check_range(first: date, last: date, *, source: str, today: date) -> str | None:
    """Why the range cannot be downloaded, or None."""
    from sarathi.common.domain.calendar import MarketCalendar

    if first > last:
        return f"--from {first} is after --to {last}"
    if source == "dhan":
        if last >= today:
            return f"--to {last} is not history yet: the last whole session is before {today}"
        if first < today - timedelta(days=365 * HISTORY_YEARS):
            return f"--from {first}: Dhan keeps {HISTORY_YEARS} years of minute history"
        return None
    years = sorted(MarketCalendar().holidays.covered_years)
    if first.year < years[0] or last.year > years[-1] or last >= today:
        end = min(today - timedelta(days=1), date(years[-1], 12, 31))
        return f"the sim's history covers {years[0]}-01-01 .. {end} (the market calendar's years)"
    return None


def _error(args: argparse.Namespace, message: str) -> int:
    print(f"sarathi data {args.verb}: error: {message}", file=sys.stderr)
    return 2


def cmd_download(args: argparse.Namespace) -> int:
    from sarathi.common.settings import SIM_ACCESS_TOKEN

    rest_url = os.environ.get("SARATHI_DHAN_REST_URL")
    if args.source == "dhan":
        from sarathi.common.clock import IST, wall_clock

        client_id = os.environ.get("SARATHI_DHAN_CLIENT_ID", "")
        token = os.environ.get("SARATHI_DHAN_ACCESS_TOKEN", "")
        if not client_id or not token or token == SIM_ACCESS_TOKEN:
            return _error(args, "--source dhan needs SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN "
                          "(a Dhan account with the data plan)")  # fmt: skip
        why = check_range(args.first, args.last, source="dhan", today=wall_clock().astimezone(IST).date())
        if why:
            return _error(args, why)
        return _run(args, nullcontext(rest_url or DHAN_REST_URL), client_id, token, "dhan")
    today = _sim_today(rest_url)
    why = check_range(args.first, args.last, source="sim", today=today)
    if why:
        return _error(args, why)
    client_id = os.environ.get("SARATHI_DHAN_CLIENT_ID", "1000000001")
    token = os.environ.get("SARATHI_DHAN_ACCESS_TOKEN", SIM_ACCESS_TOKEN)
    if rest_url:
        return _run(args, nullcontext(rest_url), client_id, token, f"sim-seed{args.seed}")
    from sarathi.cli.datasim import own_sim

    sim = own_sim(args.seed, DEFAULT_DAY, Path(args.data_dir) / ".sim")
    return _run(args, sim, client_id, token, f"sim-seed{args.seed}")


def _sim_today(rest_url: str | None) -> date:
    """The day the sim's history ends before: its clock's day (a running sim) or past the calendar."""
    from sarathi.common.domain.calendar import MarketCalendar

    if rest_url:
        import httpx

        from sarathi.cli.simclient import SimClient
        from sarathi.common.domain.calendar import IST

        sim = SimClient(rest_url.removesuffix("/").removesuffix("/v2"))
        try:
            return sim.now().astimezone(IST).date()
        except (httpx.HTTPError, KeyError, ValueError):
            pass  # not a sim's control API: Dhan itself answers there
        finally:
            sim.close()
    return date(max(MarketCalendar().holidays.covered_years) + 1, 1, 1)


def _run(
    args: argparse.Namespace, server: AbstractContextManager[str], client_id: str, token: str, source: str
) -> int:
    import asyncio

    from pydantic import SecretStr

    from sarathi.cli.download import download, plan, rolling_keys
    from sarathi.cli.terminal import LiveLine
    from sarathi.common.dhan.errors import DhanAuthError, DhanError
    from sarathi.common.dhan.history import DhanHistory
    from sarathi.common.dhan.rest import DhanRest
    from sarathi.common.domain.calendar import MarketCalendar
    from sarathi.common.domain.instruments import Underlying

    root = Path(args.data_dir) / source
    keys = rolling_keys(args.expiry_flags, (1,), args.strikes)
    wanted = [Underlying(name) for name in args.underlyings]
    plans = plan(root, wanted, args.first, args.last, keys, MarketCalendar())
    asked = sum(len(p.requests) for p in plans)
    print(f"Downloading {', '.join(args.underlyings)} {args.first}..{args.last} from {source} into {root}: "
          f"{asked} requests ({len(keys)} option series), what is cached is not asked again")  # fmt: skip
    if not asked:
        return 0
    line = LiveLine()
    try:
        with server as url:
            rest = DhanRest(
                client_id=client_id, access_token=SecretStr(token), base_url=url, timeout_seconds=60.0
            )
            stats = asyncio.run(download(DhanHistory(rest), plans, line.show))
    except DhanAuthError as exc:
        line.clear()
        print(f"sarathi data download: {source} refused the credentials: {exc}", file=sys.stderr)
        return 1
    except DhanError as exc:
        line.clear()
        print(f"sarathi data download: {source} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    line.clear()
    print(f"Done: {stats.requests} requests ({stats.empty} empty, {stats.retries} retried), "
          f"{stats.rows:,} rows, {stats.months} month files written.")  # fmt: skip
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from sarathi.cli.datastore import listing

    rows = list(listing(Path(args.data_dir)))
    if not rows:
        print(f"Nothing cached in {args.data_dir} (sarathi data download --from ... --to ...).")
        return 0
    head = f"{'source':<16} {'underlying':<10} {'kind':<8} {'month':<7} {'rows':>9} {'days':>4} {'series':>6}"
    print(f"{head}  {'first bar':<16}  {'last bar':<16} {'MB':>7}")
    for r in rows:
        print(f"{r.source:<16} {r.underlying:<10} {r.kind:<8} {r.month:<7} {r.rows:>9,} {r.days:>4} "
              f"{r.series:>6}  {r.first:<16}  {r.last:<16} {r.size_bytes / 1e6:>7.2f}")  # fmt: skip
    return 0
