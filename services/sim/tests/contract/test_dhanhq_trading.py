"""Contract: the official `dhanhq` 2.3.0 client drives the sim's trading API over real HTTP.

A minimal app (the trading router + Dhan's error handlers + a test-only `/test/step` route that
sets the scripted quote and steps the broker on the server's own loop) runs under uvicorn on a
free loopback port in a background thread; the SDK's base URL is pointed at it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
import uvicorn
from dhanhq import DhanContext, dhanhq
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import ExchangeSegment, OptionType, Underlying
from sarathi.sim.api.auth import Credentials
from sarathi.sim.api.errors import install_error_handlers
from sarathi.sim.api.trading import TradingContext, build_trading_router
from sarathi.sim.broker.engine import PaperBroker
from sarathi.sim.faults import DelayRest, ExpireToken, Faults, RejectOrders, TimeoutRest
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.view import Quote
from sarathi.sim.ratelimit import RateLimiter

CLIENT_ID = "1000000001"
TOKEN = "test-token"
CALL = "47317"
START = datetime(2026, 9, 15, 9, 20, tzinfo=IST)


def a_nifty_call() -> SimInstrument:
    return SimInstrument(
        security_id=CALL,
        segment=ExchangeSegment.NSE_FNO,
        underlying=Underlying.NIFTY,
        symbol="NIFTY-Sep2026-24000-CE",
        display_name="NIFTY 15 SEP 24000 CALL",
        lot_size=65,
        tick_size=Decimal("0.05"),
        expiry=date(2026, 9, 15),
        strike=Decimal(24000),
        option_type=OptionType.CALL,
        freeze_qty=1756,
    )


class ScriptedMarket:
    def __init__(self, universe: Universe) -> None:
        self._universe = universe
        self.ltp, self.bid, self.ask = Decimal(100), Decimal("99.95"), Decimal("100.05")

    @property
    def universe(self) -> Universe:
        return self._universe

    def quote(self, instrument: SimInstrument, at: datetime) -> Quote:
        flat = {"open": self.ltp, "high": self.ltp, "low": self.ltp, "prev_close": self.ltp}
        return Quote(
            security_id=CALL, at=at, ltp=self.ltp, last_trade_time=at, last_qty=65,
            bid=self.bid, ask=self.ask, bid_qty=1000, ask_qty=1000, volume=0, oi=0,
            prev_oi=0, average_price=self.ltp, **flat,
        )  # fmt: skip

    def index_level(self, underlying: Underlying, at: datetime) -> Decimal:
        return Decimal(24000)


@dataclass
class Clock:
    at: datetime = START

    def now(self) -> datetime:
        return self.at


@dataclass
class Sim:
    """What one test talks to: the context the router serves, its market, clock and the SDK."""

    ctx: TradingContext
    market: ScriptedMarket
    clock: Clock
    base_url: str
    dhan: Any

    def step(self, ltp: str, bid: str | None = None, ask: str | None = None) -> None:
        params = {
            "ltp": ltp,
            "bid": bid or str(Decimal(ltp) - Decimal("0.05")),
            "ask": ask or str(Decimal(ltp) + Decimal("0.05")),
        }
        assert requests.post(f"{self.base_url}/test/step", params=params, timeout=5).status_code == 200

    def raw(
        self, method: str, path: str, body: bytes | None = None, token: str | None = TOKEN
    ) -> requests.Response:
        headers = {"Content-Type": "application/json"} | ({"access-token": token} if token else {})
        return requests.request(method, f"{self.base_url}/v2{path}", data=body, headers=headers, timeout=5)


class Holder:
    sim: Sim | None = None


def _test_app(holder: Holder) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    def context() -> TradingContext:
        assert holder.sim is not None
        return holder.sim.ctx

    app.include_router(build_trading_router(context))

    @app.post("/test/step")
    async def step(ltp: str, bid: str, ask: str) -> dict[str, str]:
        sim = holder.sim
        assert sim is not None
        sim.market.ltp, sim.market.bid, sim.market.ask = Decimal(ltp), Decimal(bid), Decimal(ask)
        sim.clock.at += timedelta(seconds=1)
        sim.ctx.broker.step(sim.clock.at)
        return {"at": sim.clock.at.isoformat()}

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Holder]]:
    holder = Holder()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(_test_app(holder), log_level="warning", timeout_graceful_shutdown=2)
    uv_server = uvicorn.Server(config)
    thread = threading.Thread(target=uv_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv_server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", holder
    uv_server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def sim(server: tuple[str, Holder]) -> Sim:
    base_url, holder = server
    universe = Universe([a_nifty_call()])
    market = ScriptedMarket(universe)
    clock = Clock()
    broker = PaperBroker(universe, market, clock.now)
    ctx = TradingContext(
        broker, Credentials(CLIENT_ID, TOKEN), RateLimiter(), Faults(), timeout_hold_seconds=30
    )
    dhan = dhanhq(DhanContext(CLIENT_ID, TOKEN))
    dhan.dhan_http.base_url = f"{base_url}/v2"
    sim = Sim(ctx, market, clock, base_url, dhan)
    holder.sim = sim
    return sim


def buy_market(sim: Sim, quantity: int = 65, tag: str | None = None) -> dict[str, Any]:
    return dict(sim.dhan.place_order(CALL, "NSE_FNO", "BUY", quantity, "MARKET", "INTRADAY", 0, tag=tag))


def test_place_order_then_lookups_by_id_and_correlation_id(sim: Sim) -> None:
    placed = buy_market(sim, tag="entry-1")
    assert placed["status"] == "success"
    assert placed["data"]["orderStatus"] == "TRANSIT"
    order_id = placed["data"]["orderId"]
    transit = sim.dhan.get_order_by_correlationID("entry-1")
    assert (transit["status"], transit["remarks"]["error_code"]) == ("failure", "DH-906")
    sim.step("100", "99.95", "100.05")
    by_id = sim.dhan.get_order_by_id(order_id)
    assert by_id["status"] == "success"
    assert (by_id["data"]["orderStatus"], by_id["data"]["averageTradedPrice"]) == ("TRADED", 100.05)
    by_tag = sim.dhan.get_order_by_correlationID("entry-1")
    assert by_tag["data"]["orderId"] == order_id
    assert sim.dhan.get_order_by_id("404404")["data"] == []
    assert len(sim.dhan.get_order_list()["data"]) == 1
    assert sim.dhan.get_trade_book(order_id)["data"][0]["tradedQuantity"] == 65


def test_modify_and_cancel_a_resting_order_through_the_sdk(sim: Sim) -> None:
    placed = sim.dhan.place_order(CALL, "NSE_FNO", "BUY", 65, "LIMIT", "INTRADAY", 95.0)
    order_id = placed["data"]["orderId"]
    in_transit = sim.dhan.cancel_order(order_id)
    assert in_transit["remarks"]["error_message"] == "Order is in Transit state"
    modified = sim.dhan.modify_order(order_id, "LIMIT", "NA", 130, 96.0, 0, 0, "DAY")
    assert modified["status"] == "success", modified
    sim.step("100")
    order = sim.dhan.get_order_by_id(order_id)["data"]
    assert (order["orderStatus"], order["quantity"], order["price"]) == ("PENDING", 130, 96.0)
    cancelled = sim.dhan.cancel_order(order_id)
    assert cancelled["data"] == {"orderId": order_id, "orderStatus": "CANCELLED"}
    assert sim.dhan.get_trade_book()["data"] == []


def test_super_order_lifecycle_through_the_sdk(sim: Sim) -> None:
    placed = sim.dhan.place_super_order(
        CALL, "NSE_FNO", "BUY", 65, "LIMIT", "INTRADAY", 100.0, 120.0, 90.0, 2.0, tag="so-1"
    )
    assert placed["status"] == "success"
    order_id = placed["data"]["orderId"]
    sim.step("99.95", "99.90", "100.00")
    listed = sim.dhan.get_super_order_list()
    assert listed["status"] == "success"
    parent = listed["data"][0]
    assert (parent["orderId"], parent["orderStatus"], parent["filledQty"]) == (order_id, "TRADED", 65)
    legs = {leg["legName"]: leg for leg in parent["legDetails"]}
    assert legs["STOP_LOSS_LEG"]["totalQuatity"] == 65
    modified = sim.dhan.modify_super_order(order_id, "LIMIT", "TARGET_LEG", targetPrice=130.0)
    assert modified["status"] == "success", modified
    moved = sim.dhan.modify_super_order(
        order_id, "LIMIT", "STOP_LOSS_LEG", stopLossPrice=95.0, trailingJump=0
    )
    assert moved["status"] == "success", moved
    legs = {leg["legName"]: leg for leg in sim.dhan.get_super_order_list()["data"][0]["legDetails"]}
    assert (legs["TARGET_LEG"]["price"], legs["STOP_LOSS_LEG"]["price"]) == (130.0, 95.0)
    cancelled = sim.dhan.cancel_super_order(order_id, "TARGET_LEG")
    assert (cancelled["status"], cancelled["data"]["orderStatus"]) == ("success", "CANCELLED")
    again = sim.dhan.cancel_super_order(order_id, "TARGET_LEG")
    assert (again["status"], again["remarks"]["error_code"]) == ("failure", "DH-906")
    sim.step("94.90", "94.85", "94.95")
    closed = sim.dhan.get_super_order_list()["data"][0]
    assert closed["orderStatus"] == "CLOSED"
    positions = sim.dhan.get_positions()
    assert positions["status"] == "success"
    assert positions["data"][0]["netQty"] == 0
    assert positions["data"][0]["realizedProfit"] == pytest.approx((94.85 - 100.00) * 65)


def test_kill_switch_and_fund_limits_through_the_sdk(sim: Sim) -> None:
    funds = sim.dhan.get_fund_limits()
    assert funds["status"] == "success"
    assert "availabelBalance" in funds["data"]
    buy_market(sim)
    sim.step("100")
    refused = sim.dhan.kill_switch("activate")
    assert (refused["status"], refused["remarks"]["error_code"]) == ("failure", "DH-906")
    sim.dhan.exit_all_positions()
    sim.step("100")
    activated = sim.dhan.kill_switch("activate")
    assert activated["status"] == "success"
    assert activated["data"]["killSwitchStatus"] == "Kill Switch has been successfully activated"
    assert sim.dhan.status_kill_switch()["data"]["killSwitchStatus"] == "ACTIVATE"
    blocked = buy_market(sim)
    assert (blocked["status"], blocked["remarks"]["error_code"]) == ("failure", "DH-906")
    assert sim.dhan.kill_switch("deactivate")["status"] == "success"


def test_pnl_exit_through_the_sdk(sim: Sim) -> None:
    assert sim.dhan.set_pnl_exit(1000.0, 300.0, ["INTRADAY"])["data"]["pnlExitStatus"] == "ACTIVE"
    status = sim.dhan.get_pnl_exit()["data"]
    assert (status["profit"], status["loss"], status["productType"]) == (1000.0, 300.0, ["INTRADAY"])
    assert sim.dhan.stop_pnl_exit()["data"]["pnlExitStatus"] == "DISABLED"


def test_wrong_quantity_and_unknown_ids_answer_dhan_errors(sim: Sim) -> None:
    wrong = buy_market(sim, quantity=64)
    assert (wrong["status"], wrong["remarks"]["error_code"]) == ("failure", "DH-905")
    unknown = sim.dhan.place_order("999999", "NSE_FNO", "BUY", 65, "MARKET", "INTRADAY", 0)
    assert unknown["remarks"]["error_code"] == "DH-905"
    assert sim.dhan.cancel_order("404404")["remarks"]["error_code"] == "DH-906"
    assert sim.dhan.cancel_super_order("404404", "ENTRY_LEG")["remarks"]["error_code"] == "DH-906"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/orders", b"{not json"),
        ("POST", "/orders", b"[]"),
        ("POST", "/orders", b""),
        (
            "POST",
            "/orders",
            b'{"transactionType":"BUY","exchangeSegment":"NSE_FNO","productType":"INTRADAY",'
            b'"orderType":"LIMIT","validity":"DAY","securityId":"47317","quantity":"65","price":""}',
        ),
        ("PUT", "/orders/1", b'{"quantity": "x"}'),
        ("POST", "/super/orders", b'{"transactionType":"BUY"}'),
        ("PUT", "/super/orders/1", b'{"legName":"MIDDLE_LEG"}'),
        ("DELETE", "/super/orders/1/MIDDLE_LEG", None),
        ("POST", "/pnlExit", b'{"profitValue": "", "productType": ["INTRADAY"]}'),
        ("POST", "/killswitch", b'{"killSwitchStatus": "ACTIVATE"}'),
    ],
)
def test_bad_bodies_answer_dh_905_never_422_or_500(
    sim: Sim, method: str, path: str, body: bytes | None
) -> None:
    response = sim.raw(method, path, body)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "DH-905"


@pytest.mark.parametrize("empty", ['"legName": ""', '"price": ""', '"validity": " "'])
def test_a_modification_with_an_empty_string_is_refused_and_the_same_without_the_key_accepted(
    sim: Sim, empty: str
) -> None:
    order_id = sim.dhan.place_order(CALL, "NSE_FNO", "BUY", 65, "LIMIT", "INTRADAY", 95.0)["data"]["orderId"]
    fields = '"orderType": "LIMIT", "quantity": 65, "price": 96.0, "validity": "DAY"'

    refused = sim.raw("PUT", f"/orders/{order_id}", f"{{{fields}, {empty}}}".encode())
    accepted = sim.raw("PUT", f"/orders/{order_id}", f"{{{fields}}}".encode())

    assert (refused.status_code, refused.json()["errorCode"]) == (400, "DH-905")
    assert accepted.status_code == 200, accepted.text


def test_an_order_with_an_empty_correlation_id_or_amo_time_is_refused(sim: Sim) -> None:
    body = (
        '{"transactionType":"BUY","exchangeSegment":"NSE_FNO","productType":"INTRADAY",'
        '"orderType":"MARKET","validity":"DAY","securityId":"47317","quantity":65,%s}'
    )
    for empty in ('"correlationId":""', '"amoTime":""'):
        response = sim.raw("POST", "/orders", (body % empty).encode())
        assert (response.status_code, response.json()["errorCode"]) == (400, "DH-905"), empty
    assert sim.ctx.broker.order_book() == []


def test_numbers_as_strings_and_nulls_are_accepted(sim: Sim) -> None:
    body = (
        b'{"dhanClientId":"1000000001","transactionType":"BUY","exchangeSegment":"NSE_FNO",'
        b'"productType":"INTRADAY","orderType":"LIMIT","validity":"DAY","securityId":47317,'
        b'"quantity":"65","price":"99.5","triggerPrice":null,"boProfitValue":null,"extra":1}'
    )
    response = sim.raw("POST", "/orders", body)
    assert response.status_code == 200, response.text
    assert response.json()["orderStatus"] == "TRANSIT"


def test_the_expire_token_fault_makes_the_token_invalid(sim: Sim) -> None:
    sim.ctx.faults.apply(ExpireToken(kind="expire_token"), 0.0)
    expired = sim.dhan.get_positions()
    assert (expired["status"], expired["remarks"]["error_message"]) == ("failure", "Invalid Token")


def test_a_missing_or_wrong_token_answers_invalid_token(sim: Sim) -> None:
    for token in (None, "wrong"):
        response = sim.raw("GET", "/orders", token=token)
        assert (response.status_code, response.json()["errorCode"]) == (400, "DH-906")
    assert sim.raw("POST", "/orders", b"{bad", token=None).json()["errorMessage"] == "Invalid Token"


body_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["", "65", "100.05", "BUY", "SELL", "NSE_FNO", "LIMIT", "MARKET", "DAY", "47317"]),
    st.sampled_from([1e308, -1e308, 1e-30, "1e999999", "-0", "NaN", "Infinity", 10**40, 65.0, 100.05]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
order_keys = st.sampled_from(
    [
        "transactionType",
        "exchangeSegment",
        "productType",
        "orderType",
        "validity",
        "securityId",
        "quantity",
        "price",
        "triggerPrice",
        "disclosedQuantity",
        "correlationId",
        "afterMarketOrder",
        "amoTime",
        "targetPrice",
        "stopLossPrice",
        "trailingJump",
        "legName",
        "profitValue",
        "productType",
    ]
)


VALID_BODIES: dict[str, dict[str, Any]] = {
    "order": {
        "transactionType": "BUY", "exchangeSegment": "NSE_FNO", "productType": "INTRADAY",
        "orderType": "LIMIT", "validity": "DAY", "securityId": CALL, "quantity": 65, "price": 99.5,
    },
    "super": {
        "transactionType": "BUY", "exchangeSegment": "NSE_FNO", "productType": "INTRADAY",
        "orderType": "LIMIT", "securityId": CALL, "quantity": 65, "price": 99.5,
        "targetPrice": 120.0, "stopLossPrice": 90.0, "trailingJump": 1.0,
    },
    "modify": {"orderType": "LIMIT", "quantity": 65, "price": 98.0, "validity": "DAY"},
    "modify_super": {"legName": "STOP_LOSS_LEG", "stopLossPrice": 91.0, "trailingJump": 0.5},
    "pnl": {"profitValue": 1000.0, "lossValue": 500.0, "productType": ["INTRADAY"]},
}  # fmt: skip
ROUTES = [
    ("POST", "/orders", "order"),
    ("POST", "/orders/slicing", "order"),
    ("POST", "/super/orders", "super"),
    ("PUT", "/orders/{order}", "modify"),
    ("PUT", "/super/orders/{super}", "modify_super"),
    ("POST", "/pnlExit", "pnl"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    overrides=st.dictionaries(order_keys, body_values, max_size=4),
    route=st.sampled_from(ROUTES),
    steps=st.booleans(),
)
def test_fuzzed_bodies_never_give_a_5xx(
    sim: Sim, overrides: dict[str, Any], route: tuple[str, str, str], steps: bool
) -> None:
    """Valid bodies with a few fields replaced by anything: always Dhan's answer, never a 5xx."""
    sim.ctx.limiter.reset()
    order = sim.raw("POST", "/orders", json.dumps(VALID_BODIES["order"]).encode()).json()["orderId"]
    so = sim.raw("POST", "/super/orders", json.dumps(VALID_BODIES["super"]).encode()).json()["orderId"]
    if steps:
        sim.step("99.5", "99.45", "99.50")
    method, path, kind = route
    body = json.dumps(VALID_BODIES[kind] | overrides).encode()
    response = sim.raw(method, path.format(order=order, super=so), body)
    assert response.status_code in (200, 400), response.text
    if response.status_code != 200:
        assert set(response.json()) == {"errorType", "errorCode", "errorMessage"}


def test_the_eleventh_placement_in_a_second_gets_429_dh_904(sim: Sim) -> None:
    sim.ctx.limiter = RateLimiter(monotonic=lambda: 1000.0)  # every call inside the same second
    replies = [buy_market(sim) for _ in range(11)]
    assert all(r["status"] == "success" for r in replies[:10])
    assert replies[10]["status"] == "failure"
    assert replies[10]["remarks"]["error_code"] == "DH-904"
    raw = sim.raw("POST", "/orders", b"{}")
    assert raw.status_code == 429
    assert "Retry-After" not in raw.headers


def test_the_reject_fault_refuses_the_next_placement_with_its_code(sim: Sim) -> None:
    sim.ctx.faults.apply(RejectOrders(kind="reject_orders", error_code="DH-903", message="RMS: blocked"), 0.0)
    refused = buy_market(sim)
    assert refused["remarks"] == {
        "error_code": "DH-903",
        "error_type": "User_Account",
        "error_message": "RMS: blocked",
    }
    assert buy_market(sim)["status"] == "success"
    assert len(sim.dhan.get_order_list()["data"]) == 1


def test_the_delay_fault_delays_the_reply(sim: Sim) -> None:
    sim.ctx.faults.apply(DelayRest(kind="delay_rest", ms=400), 0.0)
    started = time.monotonic()
    assert sim.dhan.get_fund_limits()["status"] == "success"
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    sim.dhan.get_fund_limits()
    assert time.monotonic() - started < 0.4


def test_the_timeout_fault_places_the_order_but_never_replies(sim: Sim) -> None:
    sim.ctx.faults.apply(TimeoutRest(kind="timeout_rest"), 0.0)
    sim.dhan.dhan_http.timeout = 1
    lost = buy_market(sim, tag="lost-reply")
    assert lost["status"] == "failure"
    assert "timed out" in str(lost["remarks"]).lower()
    book = sim.dhan.get_order_list()["data"]
    assert [o["correlationId"] for o in book] == ["lost-reply"]
