"""Dhan's trading REST API under `/v2` (REFERENCE §2–§4), served from a `PaperBroker`.

Every call: header auth (`check_request`), then for order APIs the static-IP whitelist
(`static_ip`, when configured), then the rate limit of its category (order APIs —
place/modify/cancel of normal and super orders — count against `Category.ORDERS`, answering
`429 DH-904` with no `Retry-After`; the rest against `NON_TRADING`), then the body. Bodies are
parsed here rather than by FastAPI so that auth and rate limits come first and every bad body
answers `400 DH-905`, never 422 or 500 — an empty string for any field included (`"legName": ""`,
`"price": ""`: refused live, accepted once the key is omitted, REFERENCE §1.2).

Faults (`sarathi.sim.faults`): `delay_rest` delays any reply of this router (the action is
done first); `reject_orders` refuses a placement with HTTP 400 and the fault's code; `timeout_rest`
executes a placement and then never replies (the handler holds until the client disconnects, or
`timeout_hold_seconds` passes).

The super-order cancel's reply (`SuperCancelReply`): Dhan's super-order page shows
`{orderId, orderStatus: "CANCELLED"}` (REFERENCE §3.4; `body`, the default, answered 200 as live
DELETEs are); another page of the docs describes it as 202 Accepted with no body (`empty`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ValidationError

from sarathi.sim.api.account import Account, add_account_routes
from sarathi.sim.api.auth import Credentials, check_request
from sarathi.sim.api.errors import DhanApiError, trading_error
from sarathi.sim.api.static_ip import StaticIpGate
from sarathi.sim.broker.engine import PaperBroker
from sarathi.sim.broker.models import BrokerError, LegName
from sarathi.sim.broker.wire import (
    ModifyOrderBody,
    ModifySuperOrderBody,
    PlaceOrderBody,
    PlaceSuperOrderBody,
    PnlExitBody,
)
from sarathi.sim.faults import Faults
from sarathi.sim.ratelimit import Category, RateLimiter

RATE_LIMITED = (
    "Too many requests on server from this user. Further requests may result in the user being blocked."
)

Body = TypeVar("Body", bound=BaseModel)


class SuperCancelReply(StrEnum):
    """What `DELETE /super/orders/{id}/{leg}` answers on success (Dhan's docs show both)."""

    BODY = "body"  # 200 {orderId, orderStatus: "CANCELLED"} (REFERENCE §3.4)
    EMPTY = "empty"  # 202 Accepted, no body


@dataclass
class TradingContext:
    """What the trading router needs; the composition root builds one and hands a getter over."""

    broker: PaperBroker
    credentials: Credentials
    limiter: RateLimiter
    faults: Faults
    account: Account | None = None  # `/profile` and `/ip/getIP`: not served without one
    timeout_hold_seconds: float = 600.0  # how long a `timeout_rest` placement holds its reply
    super_cancel_reply: SuperCancelReply = SuperCancelReply.BODY
    static_ip: StaticIpGate = field(default_factory=StaticIpGate)  # not enforced unless configured


Action = Callable[[TradingContext], Awaitable[Any]]


async def read_body(request: Request, model: type[Body]) -> Body:
    """The JSON body as `model`, or DH-905 (malformed JSON, not an object, bad or missing fields)."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise trading_error(400, "DH-905", "Invalid JSON body") from None
    if not isinstance(data, dict):
        raise trading_error(400, "DH-905", "The body must be a JSON object")
    empty = next((key for key, value in data.items() if isinstance(value, str) and not value.strip()), None)
    if empty is not None:  # live Dhan refuses `""` for any field (REFERENCE §1.2): omit it instead
        raise trading_error(400, "DH-905", f"Invalid value for {empty}: empty string")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise trading_error(400, "DH-905", f"{first.get('msg', 'invalid value')}: {where}") from None


async def _hold(request: Request, seconds: float) -> None:
    """Never answer: wait for the client to give up (disconnect), at most `seconds`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while (await request.receive())["type"] != "http.disconnect":
                pass


def build_trading_router(get_context: Callable[[], TradingContext]) -> APIRouter:
    """The `/v2` trading routes; `get_context` is called once per request."""
    router = APIRouter(prefix="/v2", tags=["trading"])
    serve = _make_serve(get_context)
    _add_order_routes(router, serve)
    _add_super_order_routes(router, serve)
    _add_portfolio_routes(router, serve)
    add_account_routes(router, serve, lambda: get_context().account)
    return router


Serve = Callable[..., Awaitable[Any]]


def _make_serve(get_context: Callable[[], TradingContext]) -> Serve:
    async def serve(request: Request, category: Category, action: Action, *, placement: bool = False) -> Any:
        ctx = get_context()
        delay_ms = ctx.faults.take_delay_ms()
        timeout = False
        try:
            credentials = ctx.credentials
            if ctx.faults.token_expired and not credentials.expired:
                credentials = replace(credentials, expired=True)  # the `expire_token` fault
            check_request(request, credentials)
            if category is Category.ORDERS:  # placement, modification, cancellation (REFERENCE §1.8)
                ctx.static_ip.check(request)
            if not ctx.limiter.admit(category):
                raise trading_error(429, "DH-904", RATE_LIMITED)
            rejection = ctx.faults.take_rejection() if placement else None
            if rejection is not None:
                raise trading_error(400, rejection.error_code, rejection.message)
            result = await action(ctx)
            timeout = placement and ctx.faults.take_timeout()
        except BrokerError as exc:
            error: DhanApiError | None = trading_error(exc.status, exc.code, exc.message)
        except DhanApiError as exc:
            error = exc
        else:
            error = None
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if error is not None:
            raise error
        if timeout:
            await _hold(request, ctx.timeout_hold_seconds)
        return result

    return serve


def _add_order_routes(router: APIRouter, serve: Serve) -> None:
    @router.post("/orders")
    async def place_order(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.place_order((await read_body(request, PlaceOrderBody)).command())

        return await serve(request, Category.ORDERS, act, placement=True)

    @router.post("/orders/slicing")
    async def place_slice_order(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.place_slice_order((await read_body(request, PlaceOrderBody)).command())

        return await serve(request, Category.ORDERS, act, placement=True)

    @router.get("/orders")
    async def order_book(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.order_book()

        return await serve(request, Category.NON_TRADING, act)

    @router.get("/orders/external/{correlation_id}")
    async def order_by_correlation_id(request: Request, correlation_id: str) -> Any:
        async def act(ctx: TradingContext) -> Any:
            found = ctx.broker.order_by_correlation_id(correlation_id)
            if found is None:
                raise trading_error(404, "DH-906", "No order found for this correlation id")
            return found

        return await serve(request, Category.NON_TRADING, act)

    @router.get("/orders/{order_id}")
    async def order_by_id(request: Request, order_id: str) -> Any:
        async def act(ctx: TradingContext) -> Any:
            found = ctx.broker.order_by_id(order_id)
            return found if found is not None else []  # live answers 200 [] for an unknown id

        return await serve(request, Category.NON_TRADING, act)

    @router.put("/orders/{order_id}")
    async def modify_order(request: Request, order_id: str) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.modify_order(order_id, (await read_body(request, ModifyOrderBody)).command())

        return await serve(request, Category.ORDERS, act)

    @router.delete("/orders/{order_id}")
    async def cancel_order(request: Request, order_id: str) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.cancel_order(order_id)

        return await serve(request, Category.ORDERS, act)

    @router.get("/trades")
    async def trade_book(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.trade_book()

        return await serve(request, Category.NON_TRADING, act)

    @router.get("/trades/{order_id}")
    async def trades_of_order(request: Request, order_id: str) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.trade_book(order_id)

        return await serve(request, Category.NON_TRADING, act)


def _leg(value: str) -> LegName:
    try:
        return LegName(value)
    except ValueError:
        raise trading_error(400, "DH-905", f"Invalid order leg {value!r}") from None


def _add_super_order_routes(router: APIRouter, serve: Serve) -> None:
    @router.post("/super/orders")
    async def place_super_order(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.place_super_order((await read_body(request, PlaceSuperOrderBody)).command())

        return await serve(request, Category.ORDERS, act, placement=True)

    @router.get("/super/orders")
    async def super_order_list(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.super_order_list()

        return await serve(request, Category.NON_TRADING, act)

    @router.put("/super/orders/{order_id}")
    async def modify_super_order(request: Request, order_id: str) -> Any:
        async def act(ctx: TradingContext) -> Any:
            body = await read_body(request, ModifySuperOrderBody)
            return ctx.broker.modify_super_order(order_id, body.command())

        return await serve(request, Category.ORDERS, act)

    @router.delete("/super/orders/{order_id}/{order_leg}")
    async def cancel_super_order(request: Request, order_id: str, order_leg: str) -> Any:
        async def act(ctx: TradingContext) -> Any:
            reply = ctx.broker.cancel_super_order(order_id, _leg(order_leg))
            if ctx.super_cancel_reply is SuperCancelReply.EMPTY:
                return Response(status_code=202)
            return reply

        return await serve(request, Category.ORDERS, act)


def _add_portfolio_routes(router: APIRouter, serve: Serve) -> None:
    @router.get("/positions")
    async def positions(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.positions()

        return await serve(request, Category.NON_TRADING, act)

    @router.delete("/positions")
    async def exit_all(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.exit_all()

        return await serve(request, Category.NON_TRADING, act)

    @router.get("/fundlimit")
    async def fund_limit(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.fund_limit()

        return await serve(request, Category.NON_TRADING, act)

    @router.post("/killswitch")
    async def kill_switch(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            if (await request.body()).strip():
                raise trading_error(400, "DH-905", "killSwitchStatus is a query parameter; send no body")
            status = request.query_params.get("killSwitchStatus", "")
            if status not in ("ACTIVATE", "DEACTIVATE"):
                raise trading_error(400, "DH-905", "killSwitchStatus must be ACTIVATE or DEACTIVATE")
            return ctx.broker.set_kill_switch(status == "ACTIVATE")

        return await serve(request, Category.NON_TRADING, act)

    @router.get("/killswitch")
    async def kill_switch_status(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.kill_switch_status()

        return await serve(request, Category.NON_TRADING, act)

    @router.post("/pnlExit")
    async def set_pnl_exit(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.set_pnl_exit((await read_body(request, PnlExitBody)).rule())

        return await serve(request, Category.NON_TRADING, act)

    @router.get("/pnlExit")
    async def pnl_exit_status(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.pnl_exit_status()

        return await serve(request, Category.NON_TRADING, act)

    @router.delete("/pnlExit")
    async def stop_pnl_exit(request: Request) -> Any:
        async def act(ctx: TradingContext) -> Any:
            return ctx.broker.stop_pnl_exit()

        return await serve(request, Category.NON_TRADING, act)
