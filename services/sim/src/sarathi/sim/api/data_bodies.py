"""Request bodies of Dhan's data APIs, parsed strictly enough to answer Dhan's errors.

Bodies are read by hand (not by FastAPI's body injection) so that authentication runs first and
every malformed body — bad JSON, wrong types, missing fields — becomes Dhan's error shape:
data APIs `{"data":{"814":"Invalid Request"},"status":"failed"}`, charts `400 DH-905`.
Unknown keys are ignored: the SDK adds `dhanClientId` to every body (REFERENCE §1.2).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.sim.api.errors import DhanApiError, data_error, trading_error

MAX_QUOTE_INSTRUMENTS = 1000
INSTRUMENT_TYPES = frozenset(
    {"INDEX", "EQUITY", "FUTIDX", "OPTIDX", "FUTSTK", "OPTSTK", "FUTCOM", "OPTFUT", "FUTCUR", "OPTCUR"}
)
NO_DATA = "System is unable to fetch data due to incorrect parameters or no data present"  # live text


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ExpiryListBody(_Body):
    underlying_scrip: StrictInt = Field(alias="UnderlyingScrip")  # an int at Dhan (§1.2, §8.1)
    underlying_seg: StrictStr = Field(alias="UnderlyingSeg")


class OptionChainBody(ExpiryListBody):
    expiry: StrictStr = Field(alias="Expiry")


class ChartBody(_Body):
    security_id: StrictStr | StrictInt = Field(alias="securityId")  # a string; ints tolerated
    exchange_segment: StrictStr = Field(alias="exchangeSegment")
    instrument: StrictStr
    oi: StrictBool | None = False
    from_date: StrictStr = Field(alias="fromDate")
    to_date: StrictStr = Field(alias="toDate")


class HistoricalBody(ChartBody):
    expiry_code: StrictInt | None = Field(default=None, alias="expiryCode")


class IntradayBody(ChartBody):
    interval: StrictInt | StrictStr


B = TypeVar("B", bound=_Body)


def _json(raw: bytes) -> Any:
    if not raw.strip():
        raise ValueError("empty body")
    return json.loads(raw)


def parse_data_body(raw: bytes, model: type[B]) -> B:
    """An option-chain body, or Dhan's data error 814."""
    try:
        return model.model_validate(_json(raw))
    except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        raise data_error(400, 814) from exc


def parse_chart_body(raw: bytes, model: type[B]) -> B:
    """A charts body, or `400 DH-905` naming the problem."""
    try:
        return model.model_validate(_json(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise trading_error(400, "DH-905", f"{first.get('msg', 'invalid')}: {where}") from exc
    except ValueError as exc:
        raise trading_error(400, "DH-905", "Invalid JSON body") from exc


def parse_quote_body(raw: bytes) -> dict[ExchangeSegment, list[int]]:
    """`{"NSE_FNO": [47317, ...], ...}` with integer ids (strings give 814 live, §1.2)."""
    try:
        body = _json(raw)
    except ValueError as exc:
        raise data_error(400, 814) from exc
    if not isinstance(body, dict):
        raise data_error(400, 814)
    wanted: dict[ExchangeSegment, list[int]] = {}
    for key, ids in body.items():
        if key == "dhanClientId":
            continue
        try:
            segment = ExchangeSegment.from_wire(key)
        except ValueError as exc:  # an unknown segment name: UNVERIFIED what Dhan answers
            raise data_error(400, 814) from exc
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            raise data_error(400, 814)
        wanted[segment] = ids
    if sum(len(ids) for ids in wanted.values()) > MAX_QUOTE_INSTRUMENTS:
        raise data_error(400, 804)  # HTTP status UNVERIFIED (§1.5 gives none)
    return wanted


def parse_expiry(text: str) -> date:
    """`YYYY-MM-DD`; anything else is 812 (UNVERIFIED: live only shows 811 for unknown dates)."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_date()
    except ValueError as exc:
        raise data_error(400, 812) from exc


def _bad_date() -> date:
    raise ValueError("not YYYY-MM-DD")


def parse_chart_instant(text: str, *, end: bool) -> datetime:
    """`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (IST). A bare `end` date means the end of that day
    (so from = to = today gives today's bars; UNVERIFIED, §7.2 does not say)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            instant = datetime.combine(day, time(0), tzinfo=IST)
            return instant + timedelta(days=1) if end else instant
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
    except ValueError as exc:
        raise trading_error(400, "DH-905", "Invalid date format") from exc


def parse_chart_day(text: str) -> date:
    """A daily-chart date: `YYYY-MM-DD` (a time part is tolerated and dropped)."""
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise trading_error(400, "DH-905", "Invalid date format") from exc


def check_chart_common(body: ChartBody) -> ExchangeSegment:
    if body.instrument not in INSTRUMENT_TYPES:
        raise trading_error(400, "DH-905", f"Invalid instrument: {body.instrument}")
    try:
        return ExchangeSegment.from_wire(body.exchange_segment)
    except ValueError as exc:
        raise trading_error(400, "DH-905", f"Invalid exchangeSegment: {body.exchange_segment}") from exc


def interval_minutes(body: IntradayBody) -> int:
    value = body.interval
    if isinstance(value, str):
        value = int(value) if value.isdigit() else -1
    if value not in (1, 5, 15, 25, 60):
        raise trading_error(400, "DH-905", "Invalid interval: use 1, 5, 15, 25 or 60")
    return value


def no_data_error() -> DhanApiError:
    return trading_error(400, "DH-905", NO_DATA)
