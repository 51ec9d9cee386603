"""The doctor's verdicts: pure functions from fetched facts to `Check`s (no I/O, unit-tested).

A fact that could not be fetched arrives as an error text; its check then fails and says what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sarathi.common.dhan.schemas import FundLimit, KillSwitchReply, PnlExitReply, Profile, StaticIps
from sarathi.common.domain.calendar import IST, CalendarCoverageError, MarketCalendar
from sarathi.common.domain.holidays import NSE_BSE_HOLIDAYS, Holiday, HolidayTable, SpecialSession
from sarathi.common.domain.instruments import Exchange, Underlying
from sarathi.common.domain.money import format_inr
from sarathi.common.settings import LIVE_ARMING_WORD, Mode

TOKEN_WARN_HOURS = 4
CLOCK_WARN_SECONDS = 1.0


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.PASS, detail)


def warn(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, Status.WARN, detail, fix)


def fail(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, Status.FAIL, detail, fix)


def failed(checks: Iterable[Check]) -> bool:
    return any(c.status is Status.FAIL for c in checks)


# --- Dhan account -------------------------------------------------------------------------------


def credentials(profile: Profile | None, error: str, now: datetime) -> list[Check]:
    """`/profile` answers; the token's validity; the data plan; the derivatives segment."""
    if profile is None:
        return [
            fail(
                "credentials",
                f"GET /v2/profile refused: {error}",
                "generate a new access token on web.dhan.co and set SARATHI_DHAN_ACCESS_TOKEN "
                "(and SARATHI_DHAN_CLIENT_ID)",
            )
        ]
    checks = []
    until = profile.token_valid_until
    if until is None:
        checks.append(warn("credentials", f"token accepted; validity {profile.token_validity!r} unreadable"))
    else:
        left = until - now
        text = f"token valid until {until:%Y-%m-%d %H:%M} IST ({_hours(left)} left)"
        if left <= timedelta(0):
            text = f"token expired at {until:%Y-%m-%d %H:%M} IST"
            checks.append(fail("credentials", text, "generate a new access token"))
        elif left < timedelta(hours=TOKEN_WARN_HOURS):
            checks.append(
                warn("credentials", text, "renew the token before the session (under 4 hours left)")
            )
        else:
            checks.append(ok("credentials", text))
    if profile.data_plan_active:
        checks.append(ok("data plan", f"active (valid until {profile.data_validity or 'unknown'})"))
    else:
        checks.append(
            fail(
                "data plan",
                f"dataPlan is {profile.data_plan or 'missing'}: the market feed and data APIs will refuse",
                "subscribe to Dhan's Data APIs (web.dhan.co → DhanHQ Trading APIs)",
            )
        )
    if profile.derivatives_active:
        checks.append(ok("derivatives segment", f"active (activeSegment {profile.active_segment!r})"))
    else:
        checks.append(
            fail(
                "derivatives segment",
                f"activeSegment {profile.active_segment!r} has no derivatives: option orders are rejected",
                "activate F&O on your Dhan account",
            )
        )
    return checks


def _hours(left: timedelta) -> str:
    minutes = int(left.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 0 else "expired"


def static_ip(ips: StaticIps | None, error: str) -> Check:
    if ips is None:
        return fail("static IP", f"GET /v2/ip/getIP failed: {error}", "check the credentials first")
    if not ips.primary_ip:
        why = f" ({ips.message})" if ips.message else ""
        return fail(
            "static IP",
            f"no primary static IP set{why}: Dhan rejects every order call",
            "set this machine's public IP with POST /v2/ip/setIP or on web.dhan.co (changeable once a week)",
        )
    second = f", secondary {ips.secondary_ip}" if ips.secondary_ip else ""
    return ok(
        "static IP",
        f"primary {ips.primary_ip}{second}: order calls from any other address are rejected",
    )


def funds(fund: FundLimit | None, error: str, need: Decimal | None, what: str) -> Check:
    """Available balance against one entry of the configured size (`need`, None when unknown)."""
    if fund is None:
        return fail("funds", f"GET /v2/fundlimit failed: {error}")
    available = fund.available_balance or Decimal(0)
    if available <= 0:
        return fail(
            "funds",
            f"available balance {format_inr(available)}: no entry can be bought",
            "add funds to the account",
        )
    if need is None:
        return warn(
            "funds", f"available {format_inr(available)}; premium unknown ({what}), cannot size an entry"
        )
    if available < need:
        return fail(
            "funds",
            f"available {format_inr(available)} < {format_inr(need)} for one entry ({what})",
            "add funds or lower SARATHI_EXECUTION_LOTS",
        )
    return ok("funds", f"available {format_inr(available)} covers one entry ({what}: {format_inr(need)})")


def trader_controls(kill: KillSwitchReply | None, pnl: PnlExitReply | None, error: str) -> Check:
    if kill is None:
        return warn("kill switch", f"not readable: {error}")
    if kill.active:
        return fail(
            "kill switch",
            "Dhan's kill switch is ACTIVE: trading is blocked for the rest of the day",
            "nothing to do today; it resets the next trading day",
        )
    pnl_text = "P&L exit not set"
    if pnl is not None and pnl.pnl_exit_status == "ACTIVE":
        pnl_text = f"P&L exit ACTIVE (profit {_inr(pnl.profit)}, loss {_inr(pnl.loss)})"
    return ok("kill switch", f"inactive; {pnl_text}")


# --- market ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterFacts:
    """What the master check learnt: per underlying, the lot size and freeze of the nearest expiry."""

    rows: int = 0
    expiries: dict[Underlying, date] = field(default_factory=dict)
    lot_sizes: dict[Underlying, int] = field(default_factory=dict)
    freezes: dict[Underlying, int | None] = field(default_factory=dict)


def master(facts: MasterFacts | None, error: str, today: date, calendar: MarketCalendar) -> Check:
    if facts is None:
        return fail("instrument master", error, "check SARATHI_EXECUTION_INSTRUMENT_MASTER_URL")
    problems = []
    for underlying in Underlying:
        expiry = facts.expiries.get(underlying)
        if expiry is None:
            problems.append(f"no {underlying} options")
            continue
        try:
            due = calendar.next_expiry(underlying, today).day
        except (CalendarCoverageError, ValueError):
            continue
        if expiry != due:
            problems.append(f"{underlying}: nearest expiry listed {expiry}, the calendar says {due}")
    lots = ", ".join(f"{u} {n}" for u, n in facts.lot_sizes.items())
    if problems:
        return fail(
            "instrument master", "; ".join(problems), "run `sarathi instruments sync` with a fresh file"
        )
    return ok("instrument master", f"{facts.rows} option rows; lot sizes {lots}")


def feed(packet: str | None, error: str) -> Check:
    if packet is None:
        return fail("market feed", error, "check the data plan and SARATHI_DHAN_FEED_URL")
    return ok("market feed", packet)


def order_updates(accepted: bool, detail: str) -> Check:
    if not accepted:
        return fail("order updates", detail, "check the token and SARATHI_DHAN_ORDER_UPDATE_URL")
    return ok("order updates", detail)


CALENDAR_HORIZON = timedelta(days=30)
"""Warn this long before the holiday table runs out: a year it does not cover stops every service."""
HOLIDAYS_HOW = (
    "SARATHI_HOLIDAYS_FILE (docs/going-live.md, 'Before 1 January: next year's holidays'); "
    "mount it into every service and the sim"
)
FULL_YEAR_HOLIDAYS = 10
"""A new year with fewer weekday holidays than this is likely not the whole circular (the built-in
2025 lists 14, 2026 lists 16)."""


def holidays_file(path: str, table: HolidayTable | None, error: str) -> Check:
    """`SARATHI_HOLIDAYS_FILE`: unset, read (`table`: what the services would use) or refused (`error`)."""
    if not path:
        years = _years(NSE_BSE_HOLIDAYS.covered_years)
        return ok("holidays file", f"SARATHI_HOLIDAYS_FILE not set: the built-in table ({years})")
    if table is None:
        return fail("holidays file", error, f"correct that row; the format: {HOLIDAYS_HOW}")
    built_in: set[Holiday | SpecialSession] = {*NSE_BSE_HOLIDAYS.holidays, *NSE_BSE_HOLIDAYS.special_sessions}
    rows: list[Holiday | SpecialSession] = [*table.holidays, *table.special_sessions]
    added = [row for row in rows if row not in built_in]
    parts, thin = [], []
    for year in sorted({row.day.year for row in added}):
        closed = sum(isinstance(row, Holiday) for row in added if row.day.year == year)
        sessions = sum(row.day.year == year for row in added) - closed
        amends = year in NSE_BSE_HOLIDAYS.covered_years
        parts.append(f"{'amends' if amends else 'adds'} {year} ({closed} holidays, {sessions} sessions)")
        if not amends and closed < FULL_YEAR_HOLIDAYS:
            thin.append(f"{year} lists only {closed} weekday holidays")
    detail = f"{path} {', '.join(parts)}; the calendar covers {_years(table.covered_years)}"
    if thin:
        return warn(
            "holidays file",
            f"{detail}; {', '.join(thin)}",
            "the file must list each of its years whole (a weekday not listed is a trading day): "
            "copy every row of the exchange circular",
        )
    return ok("holidays file", detail)


def calendar_check(now: datetime, calendar: MarketCalendar) -> Check:
    """Today a trading day, time to the open, and which underlyings expire today."""
    today = now.astimezone(IST).date()
    try:
        trading = calendar.is_trading_day(today)
    except CalendarCoverageError:
        why = f"{today} is outside the market calendar"
        return fail("calendar", why, f"add {today.year}'s holidays: {HOLIDAYS_HOW}")
    if not trading:
        holiday = calendar.holidays.holiday_on(today, Exchange.NSE)
        why = f"an exchange holiday ({holiday.name})" if holiday else f"a {today:%A}"
        try:
            after = f"; the next session is {calendar.next_trading_day(today)}"
        except CalendarCoverageError:
            after = ""
        return fail("calendar", f"{today} is {why}: no session{after}", "start on a trading day")
    expiring = [u.value for u in Underlying if calendar.is_expiry_day(u, today)]
    expiry = f"; expiring today: {', '.join(expiring)}" if expiring else "; no expiry today"
    opens, closes = calendar.session_open(today), calendar.session_close(today)
    if now < opens:
        when = f"opens in {_hours(opens - now)}"
    elif now < closes:
        when = f"open now, closes {closes:%H:%M}"
    else:
        when = "closed for the day"
    detail = f"{today} is a trading day, {when}{expiry}"
    horizon = today + CALENDAR_HORIZON
    if not calendar.holidays.covers(horizon):
        years = _years(calendar.holidays.covered_years)
        return warn(
            "calendar",
            f"{detail}; the holiday table (years {years}) ends before {horizon}",
            f"write {horizon.year}'s NSE/BSE holiday circular to a CSV named by {HOLIDAYS_HOW}",
        )
    return ok("calendar", detail)


def _inr(amount: Decimal | None) -> str:
    return "unknown" if amount is None else format_inr(amount)


def _years(years: Iterable[int]) -> str:
    return ", ".join(str(year) for year in sorted(years))


def clock(offset_seconds: float | None, source: str) -> Check:
    if offset_seconds is None:
        return warn("clock", f"not compared: {source}")
    text = f"this machine is {offset_seconds:+.1f}s against {source}"
    if abs(offset_seconds) > CLOCK_WARN_SECONDS:
        return warn("clock", text, "synchronise the clock (chrony / systemd-timesyncd)")
    return ok("clock", text)


# --- our own infrastructure and configuration ------------------------------------------------------


def nats(error: str, missing_streams: Sequence[str]) -> Check:
    if error:
        return fail("NATS", error, "start NATS with JetStream or set NATS_URL")
    if missing_streams:
        return fail(
            "NATS",
            f"JetStream answers; streams missing: {', '.join(missing_streams)}",
            "start the services once (they create the streams)",
        )
    return ok("NATS", "JetStream answers, every stream present")


def database(error: str, revision: str | None, head: str | None) -> Check:
    if error:
        return fail("PostgreSQL", error, "start PostgreSQL or set DATABASE_URL")
    if revision != head:
        return fail(
            "PostgreSQL", f"at revision {revision or 'none'}, head is {head}", "run `sarathi migrate`"
        )
    return ok("PostgreSQL", f"reachable, migrated to head ({head})")


@dataclass(frozen=True)
class Config:
    mode: Mode
    live_trading: str
    daily_loss_limit_inr: Decimal | None
    lots: int


def configuration(config: Config, facts: MasterFacts | None) -> Check:
    problems = []
    if config.mode is Mode.LIVE and config.live_trading != LIVE_ARMING_WORD:
        problems.append(f"live mode without SARATHI_LIVE_TRADING={LIVE_ARMING_WORD}: nothing will trade")
    if config.daily_loss_limit_inr is None or config.daily_loss_limit_inr <= 0:
        problems.append("no daily loss limit (SARATHI_RISK_DAILY_LOSS_LIMIT_INR)")
    for underlying, lot in (facts.lot_sizes if facts else {}).items():
        freeze = facts.freezes.get(underlying) if facts else None
        if freeze is not None and config.lots * lot >= freeze:  # at the freeze quantity the exchange refuses
            problems.append(f"{config.lots} lots of {underlying} = {config.lots * lot} ≥ freeze {freeze}")
    if problems:
        return fail("configuration", "; ".join(problems), "fix the settings named")
    armed = "armed" if config.live_trading == LIVE_ARMING_WORD else "not armed"
    return ok(
        "configuration",
        f"mode {config.mode}, live trading {armed}, daily loss limit {_inr(config.daily_loss_limit_inr)}, "
        f"{config.lots} lot(s) per entry under every freeze quantity",
    )
