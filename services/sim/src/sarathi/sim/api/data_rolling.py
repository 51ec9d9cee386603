"""`POST /v2/charts/rollingoption` (REFERENCE §7.4): expired options by ATM offset, from the model.

Dhan serves minute bars of "the `strike` label of the `expiryCode`-th `expiryFlag` expiry" with the
label re-evaluated every bar, so one label walks across contracts. Here, for each bar: the index
close of the bar is `spot`; the label's strike is the nearest listed strike to it (ATM) plus the
offset in strike steps; the contract's premium bar, volume and OI are cut from the model's series
of that contract (`MarketModel.day_series`), IV from its smile at the bar's close.

What is UNVERIFIED (no live capture of these cases): which spot fixes the ATM (here the bar's
close), whether `toDate` is exclusive (here yes, as the DhanHQ Ruby client says; from == to gives
that one day), the error code and text for a refused body (here `400 DH-905`), IV in percent
(as the option chain), the shape of an empty answer (here every requested array empty), which
expiry `WEEK` means in a monthly expiry's week (here the nearest expiry of any kind, for an
underlying with weeklies; none for one without, e.g. BANKNIFTY) and the label range for later
expiries (±10 for the nearest index expiry, ±3 otherwise).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, StrictInt, StrictStr

from sarathi.common.domain.calendar import Expiry, MarketCalendar
from sarathi.common.domain.instruments import OptionType, Underlying, underlying_by_index_id
from sarathi.sim.api.data_bodies import IntradayBody, interval_minutes
from sarathi.sim.api.errors import DhanApiError, trading_error
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.market.bars import CandleCutter, intraday_candles
from sarathi.sim.market.model import MarketModel
from sarathi.sim.universe_builder import option_instrument, upcoming_expiries

DEFAULT_MAX_DAYS = 30  # Dhan's docs: "upto 30 days of data in a single API call"
REQUIRED_DATA = ("open", "high", "low", "close", "iv", "volume", "strike", "oi", "spot")
_LABEL = re.compile(r"^ATM(?:([+-])(\d{1,2}))?$")
_EXPIRIES_SCANNED = 20  # enough for the 3rd monthly among weeklies


class RollingOptionBody(IntradayBody):
    """Dhan's body (the SDK's `expired_options_data`); `oi` is not one of its fields."""

    expiry_flag: StrictStr = Field(alias="expiryFlag")
    expiry_code: StrictInt | None = Field(default=None, alias="expiryCode")
    strike: StrictStr
    drv_option_type: StrictStr = Field(alias="drvOptionType")
    required_data: list[StrictStr] = Field(alias="requiredData")


@dataclass(frozen=True, slots=True)
class RollingRequest:
    underlying: Underlying
    interval: int
    flag: Literal["WEEK", "MONTH"]
    code: int
    offset: int  # strike steps above ATM
    option_type: OptionType
    fields: tuple[str, ...]
    first: date
    end_exclusive: date


def _refuse(message: str) -> DhanApiError:
    return trading_error(400, "DH-905", message)  # code and text UNVERIFIED


def check_rolling(body: RollingOptionBody, max_days: int) -> RollingRequest:
    """The request, or Dhan's refusal of it (range longer than `max_days`, expiryCode 0 ...)."""
    interval = interval_minutes(body)
    underlying = underlying_by_index_id(str(body.security_id))
    if underlying is None or body.instrument != "OPTIDX":
        raise _refuse("Invalid securityId: the sim serves index options of NIFTY, BANKNIFTY, SENSEX")
    if body.exchange_segment != underlying.spec.fno_segment.wire:
        raise _refuse(f"Invalid exchangeSegment: {body.exchange_segment}")
    if body.expiry_flag not in ("WEEK", "MONTH"):
        raise _refuse("Invalid expiryFlag: use WEEK or MONTH")
    if not body.expiry_code:
        raise _refuse("expiryCode is required")  # live: expiryCode 0 is refused so (REFERENCE §7.4)
    if not 1 <= body.expiry_code <= 3:
        raise _refuse("Invalid expiryCode: use 1 (nearest), 2 or 3")
    offset = _offset(body.strike, 10 if body.expiry_code == 1 else 3)
    if body.drv_option_type not in ("CALL", "PUT"):
        raise _refuse("Invalid drvOptionType: use CALL or PUT")
    wanted = tuple(dict.fromkeys(body.required_data))
    if not wanted or any(name not in REQUIRED_DATA for name in wanted):
        raise _refuse(f"Invalid requiredData: use {', '.join(REQUIRED_DATA)}")
    first, end = _day(body.from_date), _day(body.to_date)
    if end < first:
        raise _refuse("fromDate must be on or before toDate")
    if (end - first).days > max_days:
        raise _refuse(f"Data for Expired Options can be fetched for {max_days} days at a time")
    return RollingRequest(
        underlying=underlying,
        interval=interval,
        flag="WEEK" if body.expiry_flag == "WEEK" else "MONTH",
        code=body.expiry_code,
        offset=offset,
        option_type=OptionType.CALL if body.drv_option_type == "CALL" else OptionType.PUT,
        fields=wanted,
        first=first,
        end_exclusive=max(end, first + timedelta(days=1)),
    )


def _offset(label: str, limit: int) -> int:
    match = _LABEL.match(label)
    if match is None:
        raise _refuse(f"Invalid strike: {label} (ATM, ATM+1 .. ATM+{limit}, ATM-1 .. ATM-{limit})")
    sign, steps = match.groups()
    offset = 0 if steps is None else int(steps) * (1 if sign == "+" else -1)
    if abs(offset) > limit or (steps is not None and int(steps) == 0):
        raise _refuse(f"Invalid strike: {label} (ATM, ATM+1 .. ATM+{limit}, ATM-1 .. ATM-{limit})")
    return offset


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise _refuse("Invalid date format") from exc


def empty_series(fields: tuple[str, ...]) -> dict[str, list[Any]]:
    return {**{name: [] for name in fields}, "timestamp": []}


def rolling_answer(series: dict[str, list[Any]], option_type: OptionType) -> dict[str, Any]:
    """Only the requested side is filled, the other is null; no `status` (REFERENCE §7.4)."""
    side = "ce" if option_type is OptionType.CALL else "pe"
    other = "pe" if side == "ce" else "ce"
    return {"data": {side: series, other: None}}


def nth_expiry(
    calendar: MarketCalendar, underlying: Underlying, day: date, flag: str, code: int
) -> Expiry | None:
    """The `code`-th expiry of the series `flag` on or after `day` (None: no such series)."""
    found = upcoming_expiries(calendar, underlying, day, _EXPIRIES_SCANNED)
    if flag == "MONTH":
        found = [e for e in found if e.is_monthly]
    elif not any(not e.is_monthly for e in found):
        return None  # no weeklies (BANKNIFTY since Nov 2024)
    return found[code - 1] if len(found) >= code else None


def rolling_series(
    market: MarketModel, request: RollingRequest, sessions: list[tuple[date, int]]
) -> dict[str, list[Any]]:
    """The arrays of `request` over `sessions` ((trading day, last grid second known))."""
    out = empty_series(request.fields)
    underlying = request.underlying
    index = market.universe.index(underlying)
    step = underlying.spec.strike_step
    for day, until in sessions:
        expiry = nth_expiry(market.calendar, underlying, day, request.flag, request.code)
        if expiry is None:
            continue
        spots = intraday_candles(market.day_series(index, day), request.interval, until, True)
        contracts: dict[Decimal, tuple[SimInstrument, CandleCutter]] = {}
        for bar in spots:
            strike = (bar.close / step).to_integral_value() * step + request.offset * step
            if strike <= 0:
                continue
            if strike not in contracts:
                contract = option_instrument(underlying, expiry, strike, request.option_type)
                cut = CandleCutter(market.day_series(contract, day), request.interval, until, False)
                contracts[strike] = (contract, cut)
            contract, cut = contracts[strike]
            candle = cut.starting_at(bar.start_epoch)
            values = {
                "open": float(candle.open), "high": float(candle.high), "low": float(candle.low),
                "close": float(candle.close), "volume": candle.volume, "oi": candle.oi,
                "strike": float(strike), "spot": float(bar.close),
                "iv": _iv(market, contract, day, bar.close, bar.start_epoch + 60 * request.interval),
            }  # fmt: skip  # Decimal → JSON float at the edge
            for name in request.fields:
                out[name].append(values[name])
            out["timestamp"].append(bar.start_epoch)
    return out


def _iv(market: MarketModel, contract: SimInstrument, day: date, spot: Decimal, epoch: int) -> float:
    years = market.options.years_to_expiry(contract, epoch)
    iv = market.options.smile_at(contract, day, float(spot), max(years, 1e-9))
    return round(100.0 * iv, 2) if math.isfinite(iv) else 0.0
