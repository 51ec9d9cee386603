"""The doctor's fact gathering: each probe asks one thing of Dhan (or of the sim, NATS or
PostgreSQL) with a timeout and returns facts or an error text; `verdicts` judges them."""

from __future__ import annotations

import asyncio
import contextlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from sarathi.cli.doctor import verdicts as v
from sarathi.common.clock import wall_clock
from sarathi.common.dhan.errors import DhanError
from sarathi.common.dhan.feed_codec import Disconnect, FeedDecoder, PrevClose, Ticker
from sarathi.common.dhan.feed_requests import FeedInstrument, FeedMode, build_requests, feed_connect_url
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.dhan.trading import DhanTrading
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.holiday_file import HolidayFileError, load_holiday_file
from sarathi.common.domain.holidays import NSE_BSE_HOLIDAYS, HolidayTable
from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.domain.money import format_inr
from sarathi.common.settings import Mode

TIMEOUT_SECONDS = 8.0
LOGIN_SETTLE_SECONDS = 2.0  # Dhan sends no login acknowledgement: a refused login closes the socket
FEED_INDEX = Underlying.NIFTY


@dataclass(frozen=True)
class Target:
    """Where the doctor looks (from the settings of the mode)."""

    mode: Mode
    rest_url: str
    feed_url: str
    order_update_url: str
    client_id: str
    token: SecretStr
    nats_url: str
    database_url: str
    master_url: str
    min_option_rows: int
    config: v.Config
    holidays_file: str = ""  # SARATHI_HOLIDAYS_FILE; "" when not set


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300] if str(exc) else type(exc).__name__


def holidays(path: str) -> tuple[HolidayTable, v.Check]:
    """The table the services would use, and the file's check; the built-in table if the file is bad
    (so the other checks still run: the services themselves would refuse to start)."""
    if not path:
        return NSE_BSE_HOLIDAYS, v.holidays_file("", NSE_BSE_HOLIDAYS, "")
    try:
        table = load_holiday_file(path)
    except HolidayFileError as exc:
        return NSE_BSE_HOLIDAYS, v.holidays_file(path, None, str(exc))
    return table, v.holidays_file(path, table, "")


async def now_of(target: Target) -> tuple[datetime, str]:
    """The mode's 'now': the sim's clock in sim mode, the wall clock otherwise."""
    if target.mode is Mode.SIM:
        base = target.rest_url.removesuffix("/").removesuffix("/v2")
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                reply = await client.get(f"{base}/sim/clock")
                reply.raise_for_status()
                return datetime.fromisoformat(reply.json()["now"]), "the sim's clock"
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            return wall_clock().astimezone(IST), f"the wall clock (sim clock unreadable: {_error(exc)})"
    return wall_clock().astimezone(IST), "the wall clock"


async def account(target: Target, now: datetime) -> tuple[list[v.Check], DhanRest]:
    rest = DhanRest(
        client_id=target.client_id, access_token=target.token, base_url=target.rest_url,
        timeout_seconds=TIMEOUT_SECONDS,
    )  # fmt: skip
    trading = DhanTrading(rest)
    try:
        profile, error = await trading.profile(), ""
    except DhanError as exc:
        profile, error = None, _error(exc)
    checks = v.credentials(profile, error, now)
    try:
        checks.append(v.static_ip(await trading.static_ips(), ""))
    except DhanError as exc:
        checks.append(v.static_ip(None, _error(exc)))
    try:
        kill, pnl = await trading.kill_switch_status(), await trading.pnl_exit_status()
        checks.append(v.trader_controls(kill, pnl, ""))
    except DhanError as exc:
        checks.append(v.trader_controls(None, None, _error(exc)))
    return checks, rest


async def funds(rest: DhanRest, lots: int, option: dict[str, Any] | None) -> v.Check:
    try:
        fund = await DhanTrading(rest).fund_limit()
    except DhanError as exc:
        return v.funds(None, _error(exc), None, "")
    if option is None:
        return v.funds(fund, "", None, "no at-the-money option found")
    what = f"{lots} × {option['lot_size']} {option['trading_symbol']}"
    try:
        premium = await _last_price(rest, option)
    except (DhanError, KeyError, TypeError, ValueError) as exc:
        return v.funds(fund, "", None, f"{what}: quote failed, {_error(exc)}")
    return v.funds(fund, "", premium * option["lot_size"] * lots, f"{what} at {format_inr(premium)}")


async def _last_price(rest: DhanRest, option: dict[str, Any]) -> Decimal:
    segment, security_id = option["exchange_segment"], int(option["security_id"])
    body = await rest.call(
        Category.QUOTE, lambda sdk: sdk.ticker_data({segment: [security_id]}), changes_state=False
    )
    return Decimal(str(body["data"][segment][str(security_id)]["last_price"]))


def master(target: Target, today: date) -> tuple[v.MasterFacts | None, str, list[dict[str, Any]]]:
    """Download and validate the detailed master with execution's parser (blocking: run in a thread)."""
    from sarathi.execution.refdata.download import DownloadError, fetch
    from sarathi.execution.refdata.master import MasterRejectedError, parse_master

    try:
        data = fetch(target.master_url, lambda _: None, timeout_seconds=60.0)
        parsed = parse_master(
            io.StringIO(data.decode("utf-8-sig")), today, min_option_rows=target.min_option_rows
        )
    except (DownloadError, MasterRejectedError, UnicodeDecodeError) as exc:
        return None, _error(exc), []
    facts = v.MasterFacts(rows=len(parsed.derivatives))
    for underlying in Underlying:
        rows = [r for r in parsed.derivatives if r["underlying"] == underlying.value]
        if not rows:
            continue
        nearest = min(r["expiry"] for r in rows)
        first = next(r for r in rows if r["expiry"] == nearest)
        facts.expiries[underlying] = nearest
        facts.lot_sizes[underlying] = first["lot_size"]
        facts.freezes[underlying] = first["freeze_quantity"]
    return facts, "", parsed.derivatives


def atm_call(options: list[dict[str, Any]], index_price: Decimal | None) -> dict[str, Any] | None:
    rows = [r for r in options if r["underlying"] == FEED_INDEX.value and r["option_type"] == "CE"]
    if not rows or index_price is None:
        return None
    nearest = min(r["expiry"] for r in rows)
    return min((r for r in rows if r["expiry"] == nearest), key=lambda r: abs(r["strike"] - index_price))


@dataclass
class FeedFacts:
    detail: str | None = None
    error: str = ""
    price: Decimal | None = None
    offset_seconds: float | None = None


async def market_feed(target: Target) -> FeedFacts:
    """Connect, subscribe NIFTY (ticker), wait for its first packet (a tick, or the previous close)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    index = FEED_INDEX.spec
    instrument = FeedInstrument(ExchangeSegment.IDX_I, str(index.security_id))
    decoder = FeedDecoder()
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            url = feed_connect_url(target.feed_url, target.client_id, target.token.get_secret_value())
            async with connect(url, open_timeout=TIMEOUT_SECONDS) as socket:
                for frame in build_requests(FeedMode.TICKER, [instrument]):
                    await socket.send(frame)
                async for message in socket:
                    if isinstance(message, str):
                        continue
                    for packet in decoder.decode(message):
                        if isinstance(packet, Disconnect):
                            return FeedFacts(error=f"the feed disconnected us (reason code {packet.reason})")
                        if isinstance(packet, Ticker):
                            price = Decimal(packet.ltp_paise) / 100
                            offset = wall_clock().timestamp() - packet.ltt_epoch
                            return FeedFacts(
                                f"{FEED_INDEX} tick {format_inr(price)}", price=price, offset_seconds=offset
                            )
                        if isinstance(packet, PrevClose):
                            price = Decimal(packet.prev_close_paise) / 100
                            return FeedFacts(
                                f"{FEED_INDEX} previous close {format_inr(price)} (no tick yet)", price=price
                            )
    except TimeoutError:
        return FeedFacts(error=f"no {FEED_INDEX} packet within {TIMEOUT_SECONDS:.0f}s")
    except (OSError, WebSocketException) as exc:
        return FeedFacts(error=f"cannot connect: {_error(exc)}")
    return FeedFacts(error="the feed closed the socket before any packet (credentials or data plan?)")


async def order_update_login(target: Target) -> v.Check:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, WebSocketException

    from sarathi.orders.adapters.order_updates import login_frame

    try:
        async with connect(target.order_update_url, open_timeout=TIMEOUT_SECONDS) as socket:
            await socket.send(login_frame(target.client_id, target.token.get_secret_value()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LOGIN_SETTLE_SECONDS):
                    async for _ in socket:
                        pass  # alerts are fine; only a close means the login was refused
                    return v.order_updates(False, f"login refused: socket closed ({socket.close_code})")
    except ConnectionClosed as exc:
        return v.order_updates(False, f"login refused: {_error(exc)}")
    except (OSError, WebSocketException, TimeoutError) as exc:
        return v.order_updates(False, f"cannot connect: {_error(exc)}")
    return v.order_updates(True, f"login accepted (socket open {LOGIN_SETTLE_SECONDS:.0f}s after it)")


async def _quiet(_: Exception) -> None:
    """nats-py prints every connection error with a traceback by default; the check reports it."""


async def nats_check(url: str) -> v.Check:
    import nats
    from nats.js.errors import NotFoundError

    from sarathi.common.bus.streams import STREAMS

    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):  # nats-py can wait for ever on a refused port
            client = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=1, error_cb=_quiet)
    except Exception as exc:  # nats-py raises several unrelated types for "not there"
        return v.nats(f"cannot connect: {_error(exc)}", [])
    try:
        js = client.jetstream()
        missing = []
        for spec in STREAMS:
            try:
                await js.stream_info(spec.name)
            except NotFoundError:
                missing.append(spec.name)
        return v.nats("", missing)
    except Exception as exc:  # JetStream disabled answers with a timeout or a service error
        return v.nats(f"JetStream does not answer: {_error(exc)}", [])
    finally:
        await client.close()


def database_check(url: str) -> v.Check:
    """Blocking (SQLAlchemy): run in a thread."""
    from sarathi.common.db import migrate

    try:
        revision = migrate.current(url)
    except Exception as exc:  # a driver error of any kind: the server is not usable
        return v.database(f"cannot connect: {_error(exc)}", None, None)
    return v.database("", revision, migrate.head())


async def run(target: Target, *, infrastructure: bool = True) -> list[v.Check]:
    """Every check, in the order printed."""
    table, holidays_check = holidays(target.holidays_file)
    calendar = MarketCalendar(table)
    now, now_source = await now_of(target)
    checks, rest = await account(target, wall_clock().astimezone(IST))  # the token lives in wall time
    facts, error, options = await asyncio.to_thread(master, target, now.date())
    feed = await market_feed(target)
    checks += [
        await funds(rest, target.config.lots, atm_call(options, feed.price)),
        v.master(facts, error, now.date(), calendar),
        v.feed(feed.detail, feed.error),
        await order_update_login(target),
        holidays_check,
        v.calendar_check(now, calendar),
    ]
    if target.mode is Mode.SIM:
        checks.append(v.ok("clock", f"sim mode: market time is {now_source}"))
    else:
        source = "the feed's last trade time" if feed.offset_seconds is not None else "no live tick (closed?)"
        checks.append(v.clock(feed.offset_seconds, source))
    if infrastructure:
        checks += [
            await nats_check(target.nats_url),
            await asyncio.to_thread(database_check, target.database_url),
        ]
    checks.append(v.configuration(target.config, facts))
    return checks
