"""Dhan's two history calls answered in process from the sim's model, for preparing a cache fast.

`ModelHistory` has `DhanHistory`'s methods (`intraday`, `rolling_option`) and answers them with
the functions the sim's `/v2/charts/intraday` and `/v2/charts/rollingoption` routes call
(`data_charts.intraday_arrays`, `data_rolling.rolling_series`), over the market a sim started
with the same settings builds (`wiring.real_market`, the universe of its first day), at its
paused clock (`sim_start`). The arrays are read with DhanHistory's own schemas, so a cache
written from here is the one `sarathi data download --source sim` writes, without HTTP or
Dhan's 5 requests/s. Only a sim whose clock stands still (`sim_start_paused`) is served.
"""

from __future__ import annotations

from datetime import date, timedelta

from sarathi.common.dhan.history import (
    ROLLING_FIELDS,
    IntradayBars,
    RollingKey,
    RollingSeries,
    check_intraday_span,
    check_rolling_span,
)
from sarathi.common.dhan.schemas import parse
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.sim.api.data_bodies import parse_chart_instant
from sarathi.sim.api.data_charts import intraday_arrays, trading_sessions
from sarathi.sim.api.data_rolling import RollingRequest, rolling_series
from sarathi.sim.settings import MarketSource, SimSettings
from sarathi.sim.universe_builder import UniverseParams, build_universe
from sarathi.sim.wiring import real_market


class ModelHistory:
    """`DhanHistory`'s calls, answered by the sim's model at the settings' paused start."""

    def __init__(self, settings: SimSettings) -> None:
        if settings.sim_start is None or not settings.sim_start_paused:
            raise ValueError("ModelHistory needs a paused sim clock: set sim_start and sim_start_paused")
        if settings.market_source is not MarketSource.SYNTHETIC:
            raise ValueError("ModelHistory serves the synthetic market only (replay has no history)")
        self.calendar = MarketCalendar()
        self.now = settings.sim_start
        day = self.now.astimezone(IST).date()
        params = UniverseParams(strikes_each_side=settings.sim_strikes_around_atm)
        universe = build_universe(day, self.calendar, params)
        self.market = real_market(settings, self.calendar, universe, day)

    async def intraday(
        self, underlying: Underlying, first: date, last: date, interval: int = 1
    ) -> IntradayBars:
        """As `DhanHistory.intraday`: the index's bars of the sessions first..last."""
        check_intraday_span(first, last)
        arrays = intraday_arrays(
            self.market,
            self.market.universe.index(underlying),
            start=parse_chart_instant(f"{first} 09:15:00", end=False),
            end=parse_chart_instant(f"{last} 15:30:00", end=True),
            interval=interval,
            now=self.now,
            oi=False,
        )
        return parse(IntradayBars, arrays)

    async def rolling_option(
        self, underlying: Underlying, key: RollingKey, first: date, last: date, interval: int = 1
    ) -> RollingSeries:
        """As `DhanHistory.rolling_option`: the series `key` over the sessions first..last."""
        check_rolling_span(first, last)
        request = RollingRequest(
            underlying=underlying,
            interval=interval,
            flag=key.flag,
            code=key.code,
            offset=key.offset,
            option_type=key.option_type,
            fields=ROLLING_FIELDS,
            first=first,
            end_exclusive=last + timedelta(days=1),
        )
        index = self.market.universe.index(underlying)
        sessions = trading_sessions(self.calendar, index, first, last, self.now)
        return parse(RollingSeries, rolling_series(self.market, request, sessions))
