"""Dhan's data REST APIs, served from the market model at the sim clock's `now`.

| path | REFERENCE |
|---|---|
| `POST /v2/optionchain/expirylist`, `POST /v2/optionchain` | §8 |
| `POST /v2/marketfeed/ltp|ohlc|quote` | §6.10 |
| `POST /v2/charts/historical`, `POST /v2/charts/intraday` | §7 |
| `POST /v2/charts/rollingoption` (expired options by ATM offset; `data_rolling`) | §7.4 |
| `GET /v2/instrument/{exchangeSegment}` | §9.1 |
| `GET /api-data/api-scrip-master.csv`, `...-detailed.csv` | §9.1 (images.dhan.co at Dhan) |

Order of checks on every request: authentication (`check_request`), then the body, then the rate
limit, then the answer. The master files are public at Dhan (the SDK fetches them with no
headers), so they are public here unless `public_master_files=False`.
The option-chain "one unique request per 3 s" rule also covers the expiry list (UNVERIFIED, §1.7).

Over a `TickMarket` (replay and paper modes) the quote and option-chain endpoints answer the
latest ticks (zeros for an instrument with no tick yet, no Greeks or IV), and the chart endpoints
answer DH-907 "no historical data": candles come from the synthetic model only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import ExchangeSegment, Underlying, underlying_by_index_id
from sarathi.sim.api import data_bodies as bodies
from sarathi.sim.api import data_rolling as rolling
from sarathi.sim.api import data_views as views
from sarathi.sim.api.auth import Credentials, check_request
from sarathi.sim.api.data_charts import (
    INTRADAY_MAX_DAYS,
    daily_arrays,
    empty_arrays,
    intraday_arrays,
    trading_sessions,
)
from sarathi.sim.api.errors import data_error, trading_error
from sarathi.sim.instruments import Universe
from sarathi.sim.market.model import MarketModel
from sarathi.sim.market.view import MarketView
from sarathi.sim.master_csv import compact_csv, detailed_csv
from sarathi.sim.ratelimit import Category, RateLimiter


@dataclass(frozen=True, slots=True)
class DataContext:
    """What the data endpoints need; the app hands a fresh one per request (the day may roll)."""

    universe: Universe
    market: MarketView  # the MarketModel (charts need it) or a TickMarket
    now: Callable[[], datetime]  # the sim clock's market instant
    credentials: Credentials
    limiter: RateLimiter
    calendar: MarketCalendar
    rolling_option_max_days: int = rolling.DEFAULT_MAX_DAYS  # `sim_rolling_option_max_days`


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"data": data, "status": "success"})


def build_data_router(
    get_context: Callable[[], DataContext], *, public_master_files: bool = True
) -> APIRouter:
    """All data endpoints; `get_context` is called once per request."""
    router = APIRouter()
    _option_chain_routes(router, get_context)
    _marketfeed_routes(router, get_context)
    _chart_routes(router, get_context)
    _master_routes(router, get_context, public_master_files)
    return router


ContextSource = Callable[[], DataContext]
_DATA_RATE = "Too many requests on server from single user breaching rate limits."


async def _authed(get_context: ContextSource, request: Request) -> tuple[DataContext, bytes]:
    ctx = get_context()
    check_request(request, ctx.credentials)
    return ctx, await request.body()


def _underlying(body: bodies.ExpiryListBody) -> Underlying:
    underlying = underlying_by_index_id(str(body.underlying_scrip))
    if body.underlying_seg != "IDX_I" or underlying is None:
        raise data_error(400, 813)  # UNVERIFIED which code Dhan gives a non-index underlying
    return underlying


def _history(ctx: DataContext) -> MarketModel:
    """The market model candles are cut from; DH-907 when the prices are ticks (replay, paper)."""
    if not isinstance(ctx.market, MarketModel):
        raise trading_error(400, "DH-907", "No historical data: the sim's prices are replayed or live ticks")
    return ctx.market


def _option_chain_routes(router: APIRouter, get_context: ContextSource) -> None:
    @router.post("/v2/optionchain/expirylist")
    async def expiry_list(request: Request) -> JSONResponse:
        ctx, raw = await _authed(get_context, request)
        body = bodies.parse_data_body(raw, bodies.ExpiryListBody)
        underlying = _underlying(body)
        if not ctx.limiter.admit_option_chain(str(body.underlying_scrip), "expirylist"):
            raise data_error(429, 805)
        today = ctx.now().astimezone(IST).date()
        return _ok([d.isoformat() for d in ctx.universe.expiries(underlying) if d >= today])

    @router.post("/v2/optionchain")
    async def option_chain(request: Request) -> JSONResponse:
        ctx, raw = await _authed(get_context, request)
        body = bodies.parse_data_body(raw, bodies.OptionChainBody)
        underlying = _underlying(body)
        expiry = bodies.parse_expiry(body.expiry)
        now = ctx.now()
        if expiry < now.astimezone(IST).date() or expiry not in ctx.universe.expiries(underlying):
            raise data_error(400, 811)
        if not ctx.limiter.admit_option_chain(str(body.underlying_scrip), body.expiry):
            raise data_error(429, 805)
        return _ok(await run_in_threadpool(_chain, ctx, underlying, expiry, now))


def _marketfeed_routes(router: APIRouter, get_context: ContextSource) -> None:
    async def serve(request: Request, view: views.QuoteView) -> JSONResponse:
        ctx, raw = await _authed(get_context, request)
        wanted = bodies.parse_quote_body(raw)
        if not ctx.limiter.admit(Category.QUOTE):
            raise data_error(429, 805)
        return _ok(await run_in_threadpool(_quotes, ctx, wanted, view))

    @router.post("/v2/marketfeed/ltp")
    async def ltp(request: Request) -> JSONResponse:
        return await serve(request, views.ltp_view)

    @router.post("/v2/marketfeed/ohlc")
    async def ohlc(request: Request) -> JSONResponse:
        return await serve(request, views.ohlc_view)

    @router.post("/v2/marketfeed/quote")
    async def quote(request: Request) -> JSONResponse:
        return await serve(request, views.quote_view)


def _chart_routes(router: APIRouter, get_context: ContextSource) -> None:
    @router.post("/v2/charts/historical")
    async def historical(request: Request) -> JSONResponse:
        ctx, raw = await _authed(get_context, request)
        body = bodies.parse_chart_body(raw, bodies.HistoricalBody)
        segment = bodies.check_chart_common(body)
        first, end = bodies.parse_chart_day(body.from_date), bodies.parse_chart_day(body.to_date)
        if end < first:
            raise bodies.no_data_error()
        if not ctx.limiter.admit(Category.DATA):
            raise trading_error(429, "DH-904", _DATA_RATE)
        instrument = ctx.universe.find(segment, str(body.security_id))
        if instrument is None:
            return JSONResponse(empty_arrays())  # unknown id: 200 with empty arrays (§7.3)
        job = partial(daily_arrays, _history(ctx), instrument, first=first, end_exclusive=end, now=ctx.now(),
                      oi=bool(body.oi))  # fmt: skip
        return JSONResponse(await run_in_threadpool(job))

    @router.post("/v2/charts/intraday")
    async def intraday(request: Request) -> JSONResponse:
        ctx, raw = await _authed(get_context, request)
        body = bodies.parse_chart_body(raw, bodies.IntradayBody)
        segment = bodies.check_chart_common(body)
        interval = bodies.interval_minutes(body)
        start = bodies.parse_chart_instant(body.from_date, end=False)
        end = bodies.parse_chart_instant(body.to_date, end=True)
        if end <= start:
            raise bodies.no_data_error()
        if (end.date() - start.date()).days > INTRADAY_MAX_DAYS:
            raise trading_error(
                400, "DH-905", "Data for Intraday Charts can be fetched for 90 days at a time"
            )
        if not ctx.limiter.admit(Category.DATA):
            raise trading_error(429, "DH-904", _DATA_RATE)
        instrument = ctx.universe.find(segment, str(body.security_id))
        if instrument is None:
            return JSONResponse(empty_arrays())
        job = partial(intraday_arrays, _history(ctx), instrument, start=start, end=end, interval=interval,
                      now=ctx.now(), oi=bool(body.oi))  # fmt: skip
        return JSONResponse(await run_in_threadpool(job))

    @router.post("/v2/charts/rollingoption")
    async def rolling_option(request: Request) -> JSONResponse:
        ctx, raw = await _authed(get_context, request)
        body = bodies.parse_chart_body(raw, rolling.RollingOptionBody)
        wanted = rolling.check_rolling(body, ctx.rolling_option_max_days)
        if not ctx.limiter.admit(Category.DATA):
            raise trading_error(429, "DH-904", _DATA_RATE)
        market = _history(ctx)
        index = ctx.universe.index(wanted.underlying)
        last = wanted.end_exclusive - timedelta(days=1)
        sessions = trading_sessions(ctx.calendar, index, wanted.first, last, ctx.now())
        job = partial(rolling.rolling_series, market, wanted, sessions)
        return JSONResponse(rolling.rolling_answer(await run_in_threadpool(job), wanted.option_type))


def _master_routes(router: APIRouter, get_context: ContextSource, public: bool) -> None:
    @router.get("/v2/instrument/{exchange_segment}")
    async def instrument_list(request: Request, exchange_segment: str) -> PlainTextResponse:
        ctx = get_context()
        check_request(request, ctx.credentials)
        try:
            segment = ExchangeSegment.from_wire(exchange_segment)
        except ValueError as exc:
            raise trading_error(400, "DH-905", f"Invalid exchangeSegment: {exchange_segment}") from exc
        return PlainTextResponse(detailed_csv(ctx.universe, segment), media_type="text/csv")

    def master(request: Request) -> DataContext:
        ctx = get_context()
        if not public:
            check_request(request, ctx.credentials)
        return ctx

    @router.get("/api-data/api-scrip-master.csv")
    async def compact_master(request: Request) -> PlainTextResponse:
        return PlainTextResponse(compact_csv(master(request).universe), media_type="text/csv")

    @router.get("/api-data/api-scrip-master-detailed.csv")
    async def detailed_master(request: Request) -> PlainTextResponse:
        return PlainTextResponse(detailed_csv(master(request).universe), media_type="text/csv")


def _chain(ctx: DataContext, underlying: Underlying, expiry: date, now: datetime) -> dict[str, Any]:
    market = ctx.market
    rows: dict[str, dict[str, Any]] = {}
    for option in sorted(ctx.universe.options(underlying, expiry), key=lambda i: (i.strike, i.option_type)):
        assert option.strike is not None
        assert option.option_type is not None
        side = "ce" if option.option_type.value == "CE" else "pe"
        rows.setdefault(views.strike_key(option.strike), {})[side] = views.chain_side(
            option, market.quote(option, now)
        )
    return {"last_price": float(market.index_level(underlying, now)), "oc": rows}


def _quotes(
    ctx: DataContext, wanted: dict[ExchangeSegment, list[int]], view: views.QuoteView
) -> dict[str, dict[str, Any]]:
    now = ctx.now()
    answer: dict[str, dict[str, Any]] = {}
    for segment, ids in wanted.items():
        found = answer.setdefault(segment.wire, {})  # an unknown id leaves an empty object (§6.10)
        for security_id in ids:
            instrument = ctx.universe.find(segment, str(security_id))
            if instrument is not None:
                quote = ctx.market.quote(instrument, now)
                found[str(security_id)] = view(instrument, quote)
    return answer
