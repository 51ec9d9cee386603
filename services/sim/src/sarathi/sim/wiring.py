"""The seam between the composition root and the parts built in other modules of the sim: the
market model (`MarketModel`), the paper broker (`PaperBroker`) and Dhan's REST routers (data,
trading and RenewToken), each built from the sim's settings. In replay and paper modes the runtime builds a
`TickMarket` itself; the data routes then answer from it (see `sarathi.sim.api.data`).

Tests substitute the market and broker with `SimParts` of their own; the REST routers need the
real ones (they call methods beyond the ports), so an app with substitutes serves no `/v2`
unless its `rest` factory says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from fastapi import APIRouter

from sarathi.common.domain.calendar import MarketCalendar
from sarathi.sim.api.account import Account
from sarathi.sim.api.auth import build_auth_router
from sarathi.sim.api.control import apply_fault
from sarathi.sim.api.data import DataContext, build_data_router
from sarathi.sim.api.trading import TradingContext, build_trading_router
from sarathi.sim.broker.config import BrokerConfig
from sarathi.sim.broker.engine import PaperBroker
from sarathi.sim.faults import RenewToken
from sarathi.sim.instruments import Universe
from sarathi.sim.market.model import MarketModel
from sarathi.sim.market.tick_market import TickMarket
from sarathi.sim.runtime import SimMarket, SimParts, SimRuntime
from sarathi.sim.settings import SimSettings


def real_market(
    settings: SimSettings, calendar: MarketCalendar, universe: Universe, day: date
) -> MarketModel:
    anchor = settings.sim_anchor_day or day
    return MarketModel(universe, calendar, seed=settings.sim_seed, anchor_day=anchor)


def real_broker(
    settings: SimSettings, universe: Universe, market: SimMarket, now: Callable[[], datetime]
) -> PaperBroker:
    config = BrokerConfig(
        client_id=settings.sim_client_id,
        status_case=settings.sim_order_update_status_case,
        sod_limit=settings.sim_funds_inr,
    )
    return PaperBroker(universe, market, now, config)


def default_parts() -> SimParts:
    """The real market model and paper broker."""
    return SimParts(market=real_market, broker=real_broker)


def dhan_rest_routers(runtime: SimRuntime) -> Sequence[APIRouter]:
    """Dhan's REST under /v2: the data router and the trading router, over the real parts."""
    market, broker = runtime.market, runtime.broker
    if not isinstance(market, MarketModel | TickMarket) or not isinstance(broker, PaperBroker):
        raise TypeError("Dhan's REST routers need the real MarketModel and PaperBroker (pass `rest=no_rest`)")
    data = DataContext(
        universe=runtime.universe,
        market=market,
        now=runtime.controller.now,
        credentials=runtime.credentials,
        limiter=runtime.limiter,
        calendar=runtime.calendar,
        rolling_option_max_days=runtime.settings.sim_rolling_option_max_days,
    )
    settings = runtime.settings
    account = Account(
        client_id=settings.sim_client_id,
        token_valid_until=runtime.started_wall + timedelta(hours=settings.sim_token_validity_hours),
        data_plan_active=settings.sim_data_plan_active,
        static_ips=settings.static_ips,
    )
    trading = TradingContext(
        broker=broker,
        credentials=runtime.credentials,
        limiter=runtime.limiter,
        faults=runtime.faults,
        super_cancel_reply=runtime.settings.sim_super_cancel_reply,
        static_ip=runtime.static_ip,
        account=account,
    )
    auth = build_auth_router(
        runtime.credentials,
        runtime.controller.now,
        lambda token: apply_fault(runtime.control, RenewToken(kind="renew_token", token=token)),
        reply=runtime.settings.sim_renew_token_reply,
    )
    return [build_data_router(lambda: data), build_trading_router(lambda: trading), auth]


def no_rest(runtime: SimRuntime) -> Sequence[APIRouter]:
    """No `/v2` routes (an app over substitute parts)."""
    del runtime
    return []
