"""`POST /v2/charts/rollingoption` driven by the official `dhanhq` client against a real server.

The sim's clock stands at 2026-09-16 11:30 IST; the market is anchored there (seed 11).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dhanhq import DhanContext, dhanhq
from fastapi import FastAPI

from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.sim.api.auth import Credentials
from sarathi.sim.api.data import DataContext, build_data_router
from sarathi.sim.api.errors import install_error_handlers
from sarathi.sim.market.model import MarketModel
from sarathi.sim.ratelimit import RateLimiter
from sarathi.sim.settings import SimSettings
from sarathi.sim.testing.fakes import FakeMonotonic
from sarathi.sim.testing.server import serving
from sarathi.sim.universe_builder import build_universe, option_instrument

CLIENT_ID = "1000000001"
TOKEN = "sim-token"
DAY = date(2026, 9, 16)
ALL = ["open", "high", "low", "close", "iv", "volume", "strike", "oi", "spot"]


@dataclass
class Sim:
    url: str
    market: MarketModel
    wall: FakeMonotonic


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    calendar = MarketCalendar()
    universe = build_universe(DAY, calendar)
    market = MarketModel(universe, calendar, seed=11, anchor_day=DAY)
    wall = FakeMonotonic()
    limiter = RateLimiter(monotonic=wall)
    now = datetime.combine(DAY, time(11, 30), tzinfo=IST)
    credentials = Credentials(client_id=CLIENT_ID, access_token=TOKEN)
    context = DataContext(universe, market, lambda: now, credentials, limiter, calendar)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(build_data_router(lambda: context))
    with serving(app, SimSettings()) as served:
        yield Sim(served.http_url, market, wall)


@pytest.fixture
def dhan(sim: Sim) -> dhanhq:
    sim.wall.now += 2.0  # past the per-second data window
    context = DhanContext(CLIENT_ID, TOKEN)
    context.get_dhan_http().base_url = f"{sim.url}/v2"
    return dhanhq(context)


def _rolling(
    dhan: dhanhq,
    *,
    strike: str = "ATM",
    side: str = "CALL",
    flag: str = "WEEK",
    code: int = 1,
    first: str = "2026-09-07",
    to: str = "2026-09-09",
    fields: list[str] | None = None,
    security_id: int = 13,
    segment: str = "NSE_FNO",
) -> Any:
    return dhan.expired_options_data(
        security_id, segment, "OPTIDX", flag, code, strike, side, fields or ALL, first, to, interval=1
    )


def test_rolling_option_answers_the_requested_side_as_parallel_minute_arrays(dhan: dhanhq) -> None:
    reply = _rolling(dhan, first="2026-09-07", to="2026-09-09")  # Mon, Tue: toDate exclusive
    assert reply["status"] == "success"
    data = reply["data"]["data"]
    assert data["pe"] is None
    ce = data["ce"]
    assert set(ce) == {*ALL, "timestamp"}
    assert len(ce["timestamp"]) == 2 * 375  # two sessions of 1-minute bars, 09:15 .. 15:29
    assert all(len(ce[name]) == len(ce["timestamp"]) for name in ALL)
    first = datetime.fromtimestamp(ce["timestamp"][0], UTC)
    assert first == datetime(2026, 9, 7, 3, 45, tzinfo=UTC)  # true UTC, bar start (09:15 IST)
    assert all(low <= o <= high for o, low, high in zip(ce["open"], ce["low"], ce["high"], strict=True))
    assert all(0 < iv < 100 for iv in ce["iv"])


def test_each_bar_is_the_contract_at_the_label_strike_of_that_minute(dhan: dhanhq, sim: Sim) -> None:
    ce = _rolling(dhan, strike="ATM+2", first="2026-09-08", to="2026-09-09")["data"]["data"]["ce"]
    strikes = {Decimal(str(s)) for s in ce["strike"]}
    assert len(strikes) > 1  # the label walks across contracts during the day
    for i in (0, 100, 374):
        spot, strike = Decimal(str(ce["spot"][i])), Decimal(str(ce["strike"][i]))
        assert strike == (spot / 50).to_integral_value() * 50 + 100
    # The 09:15 bar of ATM+2 is the 2026-09-08 weekly (expires that Tuesday) at that strike.
    contract = option_instrument(
        Underlying.NIFTY,
        MarketCalendar().next_expiry(Underlying.NIFTY, date(2026, 9, 8)),
        Decimal(str(ce["strike"][0])),
        OptionType.CALL,
    )
    series = sim.market.day_series(contract, date(2026, 9, 8))
    assert Decimal(str(ce["open"][0])) == Decimal(f"{series.prices[0]:.2f}")


def test_holidays_and_weekends_give_no_bars_and_monthly_banknifty_has_no_weekly(dhan: dhanhq) -> None:
    weekend = _rolling(dhan, first="2026-09-12", to="2026-09-14")["data"]["data"]["ce"]
    assert weekend == {**{name: [] for name in ALL}, "timestamp": []}
    weekly_bank = _rolling(dhan, security_id=25, flag="WEEK")["data"]["data"]["ce"]
    assert weekly_bank["timestamp"] == []
    dhan_monthly = _rolling(dhan, security_id=25, flag="MONTH", side="PUT")["data"]["data"]
    assert dhan_monthly["ce"] is None
    assert len(dhan_monthly["pe"]["timestamp"]) == 2 * 375


def test_a_range_longer_than_thirty_days_is_refused(dhan: dhanhq, sim: Sim) -> None:
    refused = _rolling(dhan, first="2026-08-01", to="2026-09-01")  # the docs' own 31-day example
    assert refused["status"] == "failure"
    assert refused["remarks"]["error_code"] == "DH-905"
    sim.wall.now += 2.0
    assert _rolling(dhan, first="2026-08-02", to="2026-09-01", fields=["close"])["status"] == "success"


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"code": 0}, "expiryCode is required"),
        ({"strike": "ATM+11"}, "Invalid strike"),
        ({"code": 2, "strike": "ATM-4"}, "Invalid strike"),
        ({"security_id": 99}, "Invalid securityId"),
        ({"security_id": 51}, "Invalid exchangeSegment"),  # SENSEX options are BSE_FNO
        ({"first": "2026-09-09", "to": "2026-09-08"}, "fromDate must be on or before toDate"),
    ],
)
def test_bad_bodies_are_refused_with_dh_905(dhan: dhanhq, kwargs: dict[str, Any], why: str) -> None:
    reply = _rolling(dhan, **kwargs)
    assert reply["status"] == "failure"
    assert reply["remarks"]["error_code"] == "DH-905"
    assert why in reply["remarks"]["error_message"]


def test_the_current_session_runs_to_the_sim_clock(dhan: dhanhq) -> None:
    ce = _rolling(dhan, first="2026-09-16", to="2026-09-17", fields=["close"])["data"]["data"]["ce"]
    assert len(ce["timestamp"]) == 136  # 09:15 .. 11:30, the 11:30 bar just forming


def test_unknown_required_data_is_refused(sim: Sim) -> None:
    """The SDK checks `requiredData` itself; a raw client meets the server's check."""
    sim.wall.now += 2.0
    body = {
        "exchangeSegment": "NSE_FNO", "interval": "1", "securityId": 13, "instrument": "OPTIDX",
        "expiryFlag": "WEEK", "expiryCode": 1, "strike": "ATM", "drvOptionType": "CALL",
        "requiredData": ["close", "delta"], "fromDate": "2026-09-07", "toDate": "2026-09-08",
    }  # fmt: skip
    headers = {"access-token": TOKEN, "client-id": CLIENT_ID}
    reply = httpx.post(f"{sim.url}/v2/charts/rollingoption", json=body, headers=headers)
    assert reply.status_code == 400
    assert reply.json()["errorCode"] == "DH-905"
    assert "Invalid requiredData" in reply.json()["errorMessage"]
