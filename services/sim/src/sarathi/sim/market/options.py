"""Option premium series: each contract's premium on every grid second of a trading day.

Premiums come from Black-76 on the (possibly scripted) index tape with the day's smile and time
to expiry at 15:30 IST on expiry day, rounded to the ₹0.05 tick with a ₹0.05 floor; a contract
script then overrides its own premium. Series are cached per (contract, day, scenario version)
as float32 (ample for ₹0.05 steps below ₹100 000; ~90 kB a day per contract).
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.market.book import unit_noise
from sarathi.sim.market.paths import SESSION_SECONDS, FloatArray
from sarathi.sim.market.pricing import SECONDS_PER_YEAR, PricingParams, on_tick, premiums, smile_iv
from sarathi.sim.market.scenario import Scenario
from sarathi.sim.market.tape import IndexTape, LruCache, grid_epochs, locate

PremiumArray = npt.NDArray[np.float32]


class OptionTape:
    def __init__(self, tape: IndexTape, scenario: Scenario, params: PricingParams, cache_size: int) -> None:
        self.tape = tape
        self.params = params
        self._scenario = scenario
        self._cache: LruCache[tuple[str, date, int], PremiumArray] = LruCache(cache_size)

    def atm_iv(self, underlying: Underlying, day: date) -> float:
        """The day's at-the-money IV (fraction): realised sigma times a seeded premium."""
        sigma = self.tape.day_path(underlying, day).sigma_annual
        noise = unit_noise(self.tape.seed, int(underlying.spec.security_id), day.toordinal(), 11)
        low, high = self.params.iv_over_realised_low, self.params.iv_over_realised_high
        return sigma * (low + (high - low) * noise)

    def expiry_epoch(self, instrument: SimInstrument) -> float:
        """15:30 IST on the expiry day (REFERENCE §10.2), as a UTC epoch."""
        assert instrument.expiry is not None
        expiry = instrument.expiry
        return datetime(expiry.year, expiry.month, expiry.day, 15, 30, tzinfo=IST).timestamp()

    def locate(self, instrument: SimInstrument, at: datetime) -> tuple[date, int]:
        """Session day and grid second for `at`; an expired contract stays at its expiry close."""
        day, index = locate(self.tape.calendar, instrument.underlying.spec.exchange, at)
        if instrument.expiry is not None and instrument.expiry < day:
            return instrument.expiry, SESSION_SECONDS
        return day, index

    def years_to_expiry(self, instrument: SimInstrument, epoch: float) -> float:
        return max(0.0, (self.expiry_epoch(instrument) - epoch) / SECONDS_PER_YEAR)

    def series(self, instrument: SimInstrument, day: date) -> PremiumArray:
        key = (instrument.security_id, day, self._scenario.version)
        return self._cache.get(key, lambda: self._compute(instrument, day))

    def _fair(self, instrument: SimInstrument, day: date) -> FloatArray:
        assert instrument.strike is not None
        assert instrument.option_type is not None
        underlying = instrument.underlying
        spot = self.tape.series(underlying, day)
        epochs = grid_epochs(self.tape.calendar, day, underlying.spec.exchange)
        years = np.maximum(0.0, (self.expiry_epoch(instrument) - epochs) / SECONDS_PER_YEAR)
        strike = float(instrument.strike)
        forward = spot * np.exp((self.params.rate - self.params.dividend_yield) * years)
        iv = smile_iv(self.atm_iv(underlying, day), strike, forward, years, self.params)
        is_call = instrument.option_type.value == "CE"
        return on_tick(premiums(spot, strike, years, iv=iv, is_call=is_call, params=self.params))

    def _compute(self, instrument: SimInstrument, day: date) -> PremiumArray:
        fair = self._fair(instrument, day)
        script = self._scenario.for_contract(instrument.security_id)
        if script is not None:
            epochs = grid_epochs(self.tape.calendar, day, instrument.underlying.spec.exchange)
            start_value = None
            if script.needs_start_value:
                start = datetime.fromtimestamp(script.start_epoch, tz=IST)
                start_day, index = self.locate(instrument, start)
                start_value = float(self._fair(instrument, start_day)[index])
            fair = on_tick(script.overlay(epochs, fair, start_value))
        return fair.astype(np.float32)

    def smile_at(self, instrument: SimInstrument, day: date, spot: float, years: float) -> float:
        """IV (fraction) of the contract at one instant (the smile; scripts do not re-imply it)."""
        assert instrument.strike is not None
        forward = spot * math.exp((self.params.rate - self.params.dividend_yield) * years)
        strike = float(instrument.strike)
        return float(smile_iv(self.atm_iv(instrument.underlying, day), strike, forward, years, self.params))
