"""`MarketModel`: the deterministic, seeded market behind `MarketView`.

Indices follow seeded regime paths on a 1-second grid (`paths`, `tape`), options are priced on
them (`pricing`, `options`), books, volume and OI come from `book`, scripts from `scenario`.
Every value is a pure function of (seed, scripts, instant): nothing here reads a clock.
Floats stay inside the maths; every price leaves this module as a Decimal, options on the ₹0.05
tick (`price_from_float`, the one conversion), index levels on the paisa.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

import numpy as np
import numpy.typing as npt

from sarathi.common.domain.calendar import MarketCalendar, require_aware
from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.money import price_from_float
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market import book
from sarathi.sim.market.options import OptionTape
from sarathi.sim.market.paths import FloatArray, PathParams, cumulative_activity, intraday_profile
from sarathi.sim.market.pricing import SECONDS_PER_YEAR, PricingParams, greeks
from sarathi.sim.market.scenario import Scenario, Script, ScriptPoint
from sarathi.sim.market.tape import IndexTape, LruCache, locate
from sarathi.sim.market.view import DepthLevel, Greeks, Quote
from sarathi.sim.universe_builder import DEFAULT_REFERENCE_LEVELS

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DaySeries:
    """One instrument's trading day on the 1-second grid (what candles are cut from)."""

    day: date
    open_epoch: int  # UTC epoch of 09:15:00 IST
    prices: FloatArray  # index on the paisa, options on the tick (floats; Decimal at the edge)
    volume: IntArray  # cumulative units traded by each second (0 for an index)
    oi: IntArray  # open interest, units (0 for an index)


@cache
def _volume_weights() -> FloatArray:
    """Per-second trade weights for the day's VWAP (grid point 0 gets a token weight)."""
    result: FloatArray = np.concatenate(([1e-6], intraday_profile() ** 2))
    return result


def _level(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")  # float → Decimal at the edge: an index level on the paisa


class MarketModel:
    def __init__(
        self,
        universe: Universe,
        calendar: MarketCalendar,
        *,
        seed: int,
        anchor_day: date,
        reference_levels: Mapping[Underlying, Decimal] = DEFAULT_REFERENCE_LEVELS,
        path_params: PathParams | None = None,
        pricing_params: PricingParams | None = None,
        option_cache_size: int = 1500,
    ) -> None:
        """`anchor_day`'s previous close is `reference_levels` (use the universe's trading day)."""
        self._universe = universe
        self.calendar = calendar
        self.seed = seed
        self.scenario = Scenario()
        levels = {**DEFAULT_REFERENCE_LEVELS, **reference_levels}
        self.tape = IndexTape(
            calendar,
            seed=seed,
            anchor_day=anchor_day,
            reference_levels=levels,
            scenario=self.scenario,
            path_params=path_params or PathParams(),
        )
        self.options = OptionTape(
            self.tape, self.scenario, pricing_params or PricingParams(), option_cache_size
        )
        self._activities: LruCache[tuple[str, date], tuple[int, int, float]] = LruCache(4 * option_cache_size)

    @property
    def universe(self) -> Universe:
        return self._universe

    # -- scenario -----------------------------------------------------------------------------

    def script_underlying(
        self, underlying: Underlying, start: datetime, points: Sequence[ScriptPoint]
    ) -> None:
        """Drive the index along (seconds after `start`, level) points; it holds after the last."""
        self.scenario.script_underlying(underlying, Script.build(start, points, premium=False))

    def script_contract(self, security_id: str, start: datetime, points: Sequence[ScriptPoint]) -> None:
        """Drive one contract's premium along (seconds, premium) points; it holds after the last."""
        self._universe.get(security_id)  # unknown ids fail here, not at the next quote
        self.scenario.script_contract(str(security_id), Script.build(start, points, premium=True))

    def clear_scripts(self) -> None:
        self.scenario.clear()

    # -- MarketView ---------------------------------------------------------------------------

    def index_level(self, underlying: Underlying, at: datetime) -> Decimal:
        return _level(self.tape.level(underlying, at))

    def session_of(self, instrument: SimInstrument, at: datetime) -> tuple[date, int]:
        """The session day and grid second whose values a quote at `at` shows."""
        if instrument.is_index:
            return locate(self.calendar, instrument.underlying.spec.exchange, at)
        return self.options.locate(instrument, at)

    def day_series(self, instrument: SimInstrument, day: date) -> DaySeries:
        """`instrument` on trading `day` (raises `NotATradingDayError` on other days)."""
        exchange = instrument.underlying.spec.exchange
        open_epoch = int(self.calendar.session_open(day, exchange).timestamp())
        if instrument.is_index:
            prices = np.round(self.tape.series(instrument.underlying, day), 2)
            zeros = np.zeros(prices.size, dtype=np.int64)
            return DaySeries(day, open_epoch, prices, zeros, zeros)
        prices = self.options.series(instrument, day).astype(np.float64)
        total_lots, prev_oi_lots, growth = self._activity(instrument, day)
        activity = cumulative_activity()
        lot = instrument.lot_size
        volume = (np.round(total_lots * activity) * lot).astype(np.int64)
        oi = (np.round(prev_oi_lots * (1.0 + growth * activity)) * lot).astype(np.int64)
        return DaySeries(day, open_epoch, prices, volume, oi)

    def quote(self, instrument: SimInstrument, at: datetime) -> Quote:
        at = require_aware(at)
        day, index = self.session_of(instrument, at)
        exchange = instrument.underlying.spec.exchange
        open_epoch = int(self.calendar.session_open(day, exchange).timestamp())
        previous = self.calendar.previous_trading_day(day, exchange)
        traded_at = datetime.fromtimestamp(open_epoch + index, tz=at.tzinfo)
        if not instrument.is_index:
            return self._option_quote(
                instrument,
                at,
                day=day,
                index=index,
                previous=previous,
                open_epoch=open_epoch,
                traded_at=traded_at,
            )
        prefix = self.tape.series(instrument.underlying, day)[: index + 1]
        return Quote(
            security_id=instrument.security_id, at=at, ltp=_level(prefix[-1]),
            last_trade_time=traded_at, last_qty=0, bid=Decimal(0), ask=Decimal(0), bid_qty=0, ask_qty=0,
            volume=0, oi=0, open=_level(prefix[0]), high=_level(prefix.max()), low=_level(prefix.min()),
            prev_close=_level(self.tape.series(instrument.underlying, previous)[-1]), prev_oi=0,
            average_price=Decimal(0),
        )  # fmt: skip

    def _option_quote(
        self,
        instrument: SimInstrument,
        at: datetime,
        *,
        day: date,
        index: int,
        previous: date,
        open_epoch: int,
        traded_at: datetime,
    ) -> Quote:
        prefix = self.options.series(instrument, day)[: index + 1]
        ltp = float(prefix[-1])
        weights = _volume_weights()[: index + 1]
        average = float(np.dot(prefix, weights) / weights.sum())
        epoch = open_epoch + index
        spot = float(self.tape.series(instrument.underlying, day)[index])
        years = self.options.years_to_expiry(instrument, epoch)
        iv = self.options.smile_at(instrument, day, spot, years)
        liq = self._liquidity(instrument, spot, years, day)
        keys = (self.seed, int(instrument.security_id), epoch)
        depth = book.build_book(ltp, liq, instrument.lot_size, keys)
        total, prev_oi, growth = self._activity(instrument, day)
        total_prev, _, _ = self._activity(instrument, previous)
        done = float(cumulative_activity()[index])
        lot = instrument.lot_size
        prev_close = float(self.options.series(instrument, previous)[-1])
        strike = float(instrument.strike or 0)
        is_call = instrument.option_type == "CE"
        values = greeks(spot, strike, years, iv=iv, is_call=is_call, params=self.options.params)
        return Quote(
            security_id=instrument.security_id, at=at, ltp=price_from_float(ltp), last_trade_time=traded_at,
            last_qty=lot * (1 + int(book.unit_noise(*keys, 3) * (1 + 12 * liq))),
            bid=price_from_float(depth.bids[0].price), ask=price_from_float(depth.asks[0].price),
            bid_qty=depth.bids[0].quantity, ask_qty=depth.asks[0].quantity,
            volume=round(total * done) * lot, oi=round(prev_oi * (1.0 + growth * done)) * lot,
            open=price_from_float(float(prefix[0])), high=price_from_float(float(prefix.max())),
            low=price_from_float(float(prefix.min())), prev_close=price_from_float(prev_close),
            prev_oi=prev_oi * lot, average_price=price_from_float(average),
            iv=Decimal(f"{values.iv_percent:.2f}"),
            greeks=Greeks(
                delta=Decimal(f"{values.delta:.4f}"), gamma=Decimal(f"{values.gamma:.5f}"),
                theta=Decimal(f"{values.theta:.3f}"), vega=Decimal(f"{values.vega:.3f}"),
            ),
            prev_volume=total_prev * lot,
            bid_depth=tuple(_depth(level) for level in depth.bids),
            ask_depth=tuple(_depth(level) for level in depth.asks),
        )  # fmt: skip

    # -- activity -----------------------------------------------------------------------------

    def _liquidity(self, instrument: SimInstrument, spot: float, years: float, day: date) -> float:
        atm = self.options.atm_iv(instrument.underlying, day)
        width = atm * math.sqrt(max(years, 1.0 / 365.0))
        return book.liquidity(math.log(float(instrument.strike or spot) / spot) / width)

    def _activity(self, instrument: SimInstrument, day: date) -> tuple[int, int, float]:
        """(whole-day volume lots, previous-close OI lots, OI growth over the day) for `day`,
        sized from the previous close so they stay fixed through the day."""
        key = (instrument.security_id, day)
        return self._activities.get(key, lambda: self._compute_activity(instrument, day))

    def _compute_activity(self, instrument: SimInstrument, day: date) -> tuple[int, int, float]:
        spot = math.exp(self.tape.previous_close_log(instrument.underlying, day))
        opening = self.calendar.session_open(day, instrument.underlying.spec.exchange)
        years = self.options.years_to_expiry(instrument, opening.timestamp())
        liq = self._liquidity(instrument, spot, years, day)
        days = years * SECONDS_PER_YEAR / 86_400.0
        name = instrument.underlying.spec.name
        keys = (self.seed, int(instrument.security_id), day.toordinal())
        total = book.day_volume_lots(liq, days, name, book.unit_noise(*keys, 1))
        prev_oi = book.previous_oi_lots(liq, days, name, book.unit_noise(*keys, 2))
        return total, prev_oi, book.oi_growth(book.unit_noise(*keys, 4))


def _depth(level: book.Level) -> DepthLevel:
    price = price_from_float(level.price) if level.quantity else Decimal(0)
    return DepthLevel(price=price, quantity=level.quantity, orders=level.orders)
