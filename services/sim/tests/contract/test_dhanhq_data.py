"""The data endpoints driven by the official `dhanhq` 2.3.0 client, against a real uvicorn server.

The app under test is only the data router with Dhan's error handlers; the sim clock is a fixed
market instant the tests move; the rate limiter runs on a fake monotonic clock the tests advance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dhanhq import DhanContext, dhanhq
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from sarathi.sim.universe_builder import build_universe, option_security_id

CLIENT_ID = "1000000001"
TOKEN = "sim-token"
DAY = date(2026, 9, 16)
NIFTY_WEEKLY = date(2026, 9, 22)


@dataclass
class Sim:
    """The running test server and the knobs the tests turn."""

    url: str
    market: MarketModel
    limiter: RateLimiter
    wall: FakeMonotonic
    clock: list[datetime] = field(default_factory=list)

    def set_now(self, instant: datetime) -> None:
        self.clock[0] = instant

    def next_second(self) -> None:
        self.wall.now += 3.5  # past every per-second and the 3-second option-chain window


def _market_time(hour: int, minute: int, second: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=IST)


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    calendar = MarketCalendar()
    universe = build_universe(DAY, calendar)
    market = MarketModel(universe, calendar, seed=11, anchor_day=DAY)
    wall = FakeMonotonic()
    limiter = RateLimiter(monotonic=wall)
    clock = [_market_time(11, 30)]
    credentials = Credentials(client_id=CLIENT_ID, access_token=TOKEN)

    def context() -> DataContext:
        return DataContext(universe, market, lambda: clock[0], credentials, limiter, calendar)

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(build_data_router(context))
    with serving(app, SimSettings()) as served:
        yield Sim(served.http_url, market, limiter, wall, clock)


@pytest.fixture
def dhan(sim: Sim) -> dhanhq:
    sim.next_second()
    sim.set_now(_market_time(11, 30))
    sim.market.clear_scripts()
    context = DhanContext(CLIENT_ID, TOKEN)
    context.get_dhan_http().base_url = f"{sim.url}/v2"
    return dhanhq(context)


def _headers() -> dict[str, str]:
    return {"access-token": TOKEN, "client-id": CLIENT_ID, "Content-Type": "application/json"}


def _nifty_call(strike: int = 24000, side: OptionType = OptionType.CALL) -> str:
    return option_security_id(Underlying.NIFTY, NIFTY_WEEKLY, Decimal(strike), side)


# -- option chain ---------------------------------------------------------------------------------


def test_expiry_list_returns_the_upcoming_nifty_expiries(dhan: dhanhq) -> None:
    answer = dhan.expiry_list(13, "IDX_I")
    assert answer["status"] == "success"
    assert answer["data"]["status"] == "success"
    assert answer["data"]["data"][:2] == ["2026-09-22", "2026-09-29"]


def test_option_chain_has_dhans_shape_and_the_models_values(dhan: dhanhq, sim: Sim) -> None:
    answer = dhan.option_chain(13, "IDX_I", "2026-09-22")
    assert answer["status"] == "success"
    body = answer["data"]
    assert body["status"] == "success"
    chain = body["data"]
    now = sim.clock[0]
    assert chain["last_price"] == float(sim.market.index_level(Underlying.NIFTY, now))
    assert len(chain["oc"]) == 41
    row = chain["oc"]["24000.000000"]
    call = sim.market.quote(sim.market.universe.get(_nifty_call()), now)
    assert row["ce"]["security_id"] == int(_nifty_call())
    assert row["pe"]["security_id"] == int(_nifty_call(side=OptionType.PUT))
    assert row["ce"]["last_price"] == float(call.ltp)
    assert row["ce"]["top_bid_price"] <= row["ce"]["last_price"] <= row["ce"]["top_ask_price"]
    expected_keys = {
        "average_price",
        "greeks",
        "implied_volatility",
        "last_price",
        "oi",
        "previous_close_price",
        "previous_oi",
        "previous_volume",
        "security_id",
        "top_ask_price",
        "top_ask_quantity",
        "top_bid_price",
        "top_bid_quantity",
        "volume",
    }
    assert set(row["ce"]) == expected_keys
    assert set(row["ce"]["greeks"]) == {"delta", "theta", "gamma", "vega"}
    assert 0 < row["ce"]["greeks"]["delta"] < 1
    assert -1 < row["pe"]["greeks"]["delta"] < 0


def test_option_chain_follows_a_scripted_index(dhan: dhanhq, sim: Sim) -> None:
    sim.market.script_underlying(Underlying.NIFTY, _market_time(11, 0), [(0, Decimal("24321.5"))])
    chain = dhan.option_chain(13, "IDX_I", "2026-09-22")["data"]["data"]
    assert chain["last_price"] == 24321.5
    assert chain["oc"]["24000.000000"]["ce"]["last_price"] > 321


def test_an_unknown_expiry_answers_811(dhan: dhanhq) -> None:
    answer = dhan.option_chain(13, "IDX_I", "2026-09-23")
    assert answer["status"] == "failure"
    body = {"UnderlyingScrip": 13, "UnderlyingSeg": "IDX_I", "Expiry": "2026-09-23"}
    response = httpx.post(f"{dhan.dhan_http.base_url}/optionchain", headers=_headers(), json=body)
    assert response.status_code == 400
    assert response.json() == {"data": {"811": "Invalid Expiry Date"}, "status": "failed"}


def test_the_same_chain_twice_within_three_seconds_answers_429_805(dhan: dhanhq, sim: Sim) -> None:
    assert dhan.option_chain(25, "IDX_I", "2026-09-29")["status"] == "success"
    assert dhan.option_chain(13, "IDX_I", "2026-09-22")["status"] == "success"  # another key runs freely
    body = {"UnderlyingScrip": 25, "UnderlyingSeg": "IDX_I", "Expiry": "2026-09-29"}
    response = httpx.post(f"{sim.url}/v2/optionchain", headers=_headers(), json=body)
    assert response.status_code == 429
    assert response.json()["data"] == {
        "805": "Too many requests. Further requests may result in the user being blocked."
    }


def test_a_string_underlying_scrip_is_an_invalid_request(sim: Sim) -> None:
    response = httpx.post(f"{sim.url}/v2/optionchain/expirylist", headers=_headers(),
                          json={"UnderlyingScrip": "13", "UnderlyingSeg": "IDX_I"})  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"data": {"814": "Invalid Request"}, "status": "failed"}


def test_a_missing_client_id_header_is_refused_with_808(sim: Sim) -> None:
    response = httpx.post(f"{sim.url}/v2/optionchain/expirylist", headers={"access-token": TOKEN},
                          json={"UnderlyingScrip": 13, "UnderlyingSeg": "IDX_I"})  # fmt: skip
    assert response.status_code == 401
    assert response.json()["data"] == {"808": "Authentication Failed - Client ID or Access Token invalid"}


# -- charts -------------------------------------------------------------------------------------------


def test_intraday_minute_data_stamps_bars_at_their_utc_start(dhan: dhanhq, sim: Sim) -> None:
    answer = dhan.intraday_minute_data("13", "IDX_I", "INDEX", "2026-09-16", "2026-09-16", interval=5)
    assert answer["status"] == "success"
    bars = answer["data"]
    assert bars["timestamp"][0] == int(datetime(2026, 9, 16, 3, 45, tzinfo=UTC).timestamp())  # 09:15 IST
    assert bars["timestamp"][0] % 300 == 0
    assert len(bars["open"]) == len(bars["close"]) == len(bars["timestamp"]) == 28  # 09:15 … 11:30 forming
    assert bars["timestamp"][-1] == int(_market_time(11, 30).timestamp())
    assert set(bars["volume"]) == {0}
    assert bars["close"][-1] == float(sim.market.index_level(Underlying.NIFTY, sim.clock[0]))


def test_intraday_option_bars_carry_volume_and_oi_on_request(dhan: dhanhq) -> None:
    answer = dhan.intraday_minute_data(
        _nifty_call(), "NSE_FNO", "OPTIDX", "2026-09-15", "2026-09-15", 60, oi=True
    )
    bars = answer["data"]
    assert len(bars["timestamp"]) == 7
    assert all(v > 0 for v in bars["volume"])
    assert all(oi > 0 for oi in bars["open_interest"])
    assert all(round(p * 20) == p * 20 for p in bars["close"])  # on the 0.05 tick


def test_historical_daily_data_excludes_to_date_and_stamps_midnight_ist(dhan: dhanhq) -> None:
    answer = dhan.historical_daily_data("13", "IDX_I", "INDEX", "2026-09-08", "2026-09-15")
    bars = answer["data"]
    days = [datetime.fromtimestamp(t, IST) for t in bars["timestamp"]]
    assert [d.date() for d in days] == [
        date(2026, 9, 8),
        date(2026, 9, 9),
        date(2026, 9, 10),
        date(2026, 9, 11),
    ]
    assert all(d.time() == time(0) for d in days)
    assert all(low <= high for low, high in zip(bars["low"], bars["high"], strict=True))


def test_unknown_ids_and_holidays_give_empty_arrays(dhan: dhanhq) -> None:
    unknown = dhan.historical_daily_data("999999", "NSE_FNO", "OPTIDX", "2026-09-01", "2026-09-15")["data"]
    holiday = dhan.intraday_minute_data("13", "IDX_I", "INDEX", "2026-09-14", "2026-09-14")["data"]
    for arrays in (unknown, holiday):
        assert arrays["open"] == []
        assert arrays["timestamp"] == []


def test_more_than_90_days_of_intraday_is_dh_905(dhan: dhanhq) -> None:
    answer = dhan.intraday_minute_data("13", "IDX_I", "INDEX", "2026-05-01", "2026-09-15")
    assert answer["status"] == "failure"
    assert answer["remarks"]["error_code"] == "DH-905"


def test_a_sixth_chart_request_in_a_second_is_dh_904(dhan: dhanhq) -> None:
    answers = [
        dhan.historical_daily_data("25", "IDX_I", "INDEX", "2026-09-10", "2026-09-12") for _ in range(6)
    ]
    assert [a["status"] for a in answers[:5]] == ["success"] * 5
    assert answers[5]["remarks"]["error_code"] == "DH-904"


# -- market quote ---------------------------------------------------------------------------------


def test_ticker_data_gives_last_prices_and_an_empty_object_for_unknown_ids(dhan: dhanhq, sim: Sim) -> None:
    answer = dhan.ticker_data({"IDX_I": [13, 51], "NSE_FNO": [int(_nifty_call()), 5]})
    assert answer["status"] == "success"
    data = answer["data"]["data"]
    now = sim.clock[0]
    assert data["IDX_I"]["13"]["last_price"] == float(sim.market.index_level(Underlying.NIFTY, now))
    assert data["IDX_I"]["51"]["last_price"] == float(sim.market.index_level(Underlying.SENSEX, now))
    assert set(data["NSE_FNO"]) == {_nifty_call()}
    empty = dhan.ticker_data({"BSE_FNO": [1]})
    assert empty["status"] == "failure"  # within the same second: the 1/s quote limit


def test_ohlc_data_reports_the_previous_close_as_close(dhan: dhanhq, sim: Sim) -> None:
    data = dhan.ohlc_data({"IDX_I": [25]})["data"]["data"]
    quote = sim.market.quote(sim.market.universe.get("25"), sim.clock[0])
    assert data["IDX_I"]["25"] == {
        "last_price": float(quote.ltp),
        "ohlc": {"open": float(quote.open), "close": float(quote.prev_close),
                 "high": float(quote.high), "low": float(quote.low)},
    }  # fmt: skip


def test_quote_data_has_five_levels_of_depth_and_dhans_fields(dhan: dhanhq) -> None:
    data = dhan.quote_data({"NSE_FNO": [int(_nifty_call())]})["data"]["data"]
    quote = data["NSE_FNO"][_nifty_call()]
    assert len(quote["depth"]["buy"]) == len(quote["depth"]["sell"]) == 5
    assert quote["depth"]["buy"][0]["price"] <= quote["last_price"] <= quote["depth"]["sell"][0]["price"]
    assert quote["last_trade_time"] == "16/09/2026 11:30:00"
    assert quote["volume"] > 0
    assert quote["oi_day_low"] <= quote["oi"] <= quote["oi_day_high"]
    assert quote["net_change"] == round(quote["last_price"] - quote["ohlc"]["close"], 2)


def test_string_ids_in_a_quote_body_are_an_invalid_request(sim: Sim) -> None:
    response = httpx.post(f"{sim.url}/v2/marketfeed/ltp", headers=_headers(), json={"IDX_I": ["13"]})
    assert response.status_code == 400
    assert response.json() == {"data": {"814": "Invalid Request"}, "status": "failed"}


def test_more_than_1000_instruments_answer_804(sim: Sim) -> None:
    response = httpx.post(
        f"{sim.url}/v2/marketfeed/ltp", headers=_headers(), json={"NSE_FNO": list(range(1001))}
    )
    assert response.status_code == 400
    assert "804" in response.json()["data"]


# -- instrument lists ---------------------------------------------------------------------------------


def test_the_master_files_and_the_segment_list_are_csv(sim: Sim) -> None:
    compact = httpx.get(f"{sim.url}/api-data/api-scrip-master.csv")
    detailed = httpx.get(f"{sim.url}/api-data/api-scrip-master-detailed.csv")
    segment = httpx.get(f"{sim.url}/v2/instrument/BSE_FNO", headers={"access-token": TOKEN})
    assert compact.status_code == detailed.status_code == segment.status_code == 200
    assert compact.text.startswith("SEM_EXM_EXCH_ID,")
    assert detailed.text.startswith("EXCH_ID,SEGMENT,SECURITY_ID,")
    assert all(line.startswith("BSE,D,") for line in segment.text.splitlines()[1:])
    assert httpx.get(f"{sim.url}/v2/instrument/BSE_FNO").status_code == 400  # no token: DH-906


# -- bad input never gives a 5xx -------------------------------------------------------------------


_BAD_INTERVAL = {
    "securityId": "13",
    "exchangeSegment": "IDX_I",
    "instrument": "INDEX",
    "interval": 7,
    "fromDate": "2026-09-16",
    "toDate": "2026-09-16",
}


@pytest.mark.parametrize(
    ("path", "raw", "status"),
    [
        ("/v2/optionchain", b"{not json", 400),
        ("/v2/optionchain/expirylist", b"", 400),
        ("/v2/marketfeed/quote", b"[1, 2]", 400),
        ("/v2/charts/intraday", b'{"securityId": "13"}', 400),
        ("/v2/charts/historical", b"{bad", 400),
        ("/v2/charts/intraday", json.dumps(_BAD_INTERVAL).encode(), 400),
    ],
)  # fmt: skip
def test_malformed_bodies_answer_dhans_errors(sim: Sim, path: str, raw: bytes, status: int) -> None:
    sim.next_second()
    response = httpx.post(f"{sim.url}{path}", headers=_headers(), content=raw)
    assert response.status_code == status
    body = response.json()
    assert ("errorCode" in body) if "charts" in path else (body["status"] == "failed")


def test_a_wrong_token_is_refused_before_the_body_is_read(sim: Sim) -> None:
    response = httpx.post(f"{sim.url}/v2/charts/intraday", headers={"access-token": "nope"}, content=b"{bad")
    assert response.status_code == 400
    assert response.json()["errorCode"] == "DH-906"


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "UnderlyingScrip": st.sampled_from([13, 25, 51, 0, "13", None]),
        "UnderlyingSeg": st.sampled_from(["IDX_I", "NSE_FNO", "", 5]),
        "Expiry": st.sampled_from(["2026-09-22", "2026-13-01", "22-09-2026", ""]),
        "securityId": st.sampled_from(["13", 13, "x", _nifty_call(), None]),
        "exchangeSegment": st.sampled_from(["IDX_I", "NSE_FNO", "BSE_FNO", "MOON"]),
        "instrument": st.sampled_from(["INDEX", "OPTIDX", "FOO"]),
        "interval": st.sampled_from([1, "5", 7, "x", None]),
        "oi": st.sampled_from([True, False, "yes"]),
        "fromDate": st.sampled_from(
            ["2026-09-15", "2026-09-16 09:15:00", "2020-01-01", "nope", "2026-02-30"]
        ),
        "toDate": st.sampled_from(["2026-09-16", "2026-09-16 10:00:00", "2027-01-01", "", "2026-09-01"]),
        "IDX_I": st.lists(st.integers(-5, 100), max_size=5),
        "NSE_FNO": _JSON,
        "dhanClientId": st.just(CLIENT_ID),
    },
)
_PATHS = ["/v2/optionchain", "/v2/optionchain/expirylist", "/v2/marketfeed/ltp", "/v2/marketfeed/ohlc",
          "/v2/marketfeed/quote", "/v2/charts/historical", "/v2/charts/intraday"]  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_PATHS), body=_FIELDS | _JSON)
def test_no_data_request_body_gives_a_server_error(sim: Sim, path: str, body: Any) -> None:
    sim.next_second()
    response = httpx.post(f"{sim.url}{path}", headers=_headers(), content=json.dumps(body).encode())
    assert response.status_code < 500, response.text
    assert isinstance(response.json(), dict)


def test_history_reaching_before_the_holiday_table_is_cut_not_an_error(dhan: dhanhq) -> None:
    answer = dhan.historical_daily_data("13", "IDX_I", "INDEX", "2024-12-01", "2025-01-10")
    assert answer["status"] == "success"
    first_day = datetime.fromtimestamp(answer["data"]["timestamp"][0], IST).date()
    assert first_day == date(2025, 1, 2)  # 1 Jan 2025 has no previous close inside the table


_CHART_BODIES = st.fixed_dictionaries(
    {
        "securityId": st.sampled_from(["13", "25", "51", _nifty_call(), "0"]),
        "exchangeSegment": st.sampled_from(["IDX_I", "NSE_FNO", "BSE_FNO"]),
        "instrument": st.sampled_from(["INDEX", "OPTIDX"]),
        "interval": st.sampled_from([1, 5, 15, 25, 60, "60"]),
        "oi": st.booleans(),
        "expiryCode": st.sampled_from([0, 1, 2, 3]),
        "fromDate": st.dates(date(2024, 11, 1), date(2026, 12, 31)).map(str),
        "toDate": st.dates(date(2024, 11, 1), date(2027, 1, 31)).map(str),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/v2/charts/historical", "/v2/charts/intraday"]), body=_CHART_BODIES)
def test_no_well_formed_chart_request_gives_a_server_error(sim: Sim, path: str, body: dict[str, Any]) -> None:
    sim.next_second()
    response = httpx.post(f"{sim.url}{path}", headers=_headers(), json=body)
    assert response.status_code < 500, response.text
