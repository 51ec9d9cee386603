"""The sim's parts, built from settings and wired together (no I/O until `running()`).

`build_runtime(settings, parts)` builds, in order: the market calendar, the clock controller,
the instrument universe (the synthetic one for the start day, or in replay and paper modes the
Dhan detailed master of `sim_master_file`: `master_reader`), the market model, the paper broker,
the credentials, the REST rate limiter, the faults, the two socket hubs, the engine and the clock
publisher, and connects their callbacks: broker alerts → order-update sockets, `drop_feed` →
every feed socket closed, `expire_token` → 807 on the feed and the order-update sockets closed,
clock changes → engine and publisher. `SimRuntime.running(sink)` starts the engine and the
publisher (the app's lifespan enters it) and closes every socket on the way out.

With `sim_state_dir` (`persistence`): the saved state, if any, is read first; the clock starts at
the saved market instant and speed (paused if it was), the universe and the market model are
built for the saved trading day with the same seed, the paper broker's books are put back, and a
`StatePersister` saves after each engine step that changed them (the app saves after each
request that may change state). A state that cannot be used raises `StateStoreError`.

The market model and the broker come from `SimParts` factories so tests can substitute them.
Which market, and what feeds it, follows `settings.market_source` (see `SimSettings`):

- synthetic: the `SimParts` market model; the engine encodes its quotes onto the feed sockets;
- replay: a `TickMarket` fed by a `ReplayPlayer` the engine advances (frames go to the sockets
  verbatim); the clock starts at the recording's first frame unless `sim_start` says otherwise
  (the file's first record is read here, so a missing or empty recording fails the build);
- paper: a `TickMarket` fed by `PaperTicks` from NATS once `running()`; the clock is the wall
  clock (IST) at speed 1 and the control API refuses to change it; the feed socket is not served.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from sarathi.common.clock import IST, wall_clock
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.logging import get_logger
from sarathi.common.metrics import ServiceMetrics
from sarathi.sim.api.auth import Credentials
from sarathi.sim.api.control import ControlTargets, ScenarioScripting
from sarathi.sim.api.static_ip import StaticIpGate
from sarathi.sim.broker.engine import PaperBroker
from sarathi.sim.broker.port import Broker
from sarathi.sim.broker.state import BrokerStateError, restore_broker
from sarathi.sim.clock import SimClockController
from sarathi.sim.clock_publisher import ClockPublisher, ClockSink
from sarathi.sim.engine import Engine
from sarathi.sim.faults import Faults
from sarathi.sim.holds import ClockHolds
from sarathi.sim.instruments import Universe
from sarathi.sim.market.tick_market import TickMarket
from sarathi.sim.market.view import MarketView
from sarathi.sim.master_reader import MasterReport, load_master
from sarathi.sim.paper import PaperTicks
from sarathi.sim.persistence import SavedState, StatePersister, read_state
from sarathi.sim.ratelimit import RateLimiter, RateLimitTime
from sarathi.sim.replay import ReplayPlayer, first_frame_instant
from sarathi.sim.settings import MarketSource, SimSettings
from sarathi.sim.state_store import StateStore, StateStoreError
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.universe_builder import UniverseParams, build_universe
from sarathi.sim.ws.feed_hub import FeedHub
from sarathi.sim.ws.order_updates import OrderUpdateHub

log = get_logger(__name__)


class SimMarket(MarketView, ScenarioScripting, Protocol):
    """The market model as the sim needs it: quotes, plus scripted scenarios."""


MarketFactory = Callable[[SimSettings, MarketCalendar, Universe, date], SimMarket]
"""(settings, calendar, universe, trading day of the start) → the market model."""
BrokerFactory = Callable[[SimSettings, Universe, SimMarket, Callable[[], datetime]], Broker]


@dataclass(frozen=True)
class SimParts:
    """Where the market model and the paper broker come from (the real ones by default)."""

    market: MarketFactory
    broker: BrokerFactory
    wall: Callable[[], datetime] = wall_clock
    monotonic: Callable[[], float] = field(default=time.monotonic)


def default_start(calendar: MarketCalendar, today: date) -> datetime:
    """The session open of `today` if it is a trading day, else of the next trading day."""
    day = today if calendar.is_trading_day(today) else calendar.next_trading_day(today)
    return calendar.session_open(day)


def start_instant(settings: SimSettings, calendar: MarketCalendar, wall: Callable[[], datetime]) -> datetime:
    """Where market time starts for the settings' market source."""
    match settings.market_source:
        case MarketSource.PAPER:
            return wall().astimezone(IST)
        case MarketSource.REPLAY:
            assert settings.sim_replay_file is not None
            return settings.start_or(first_frame_instant(settings.sim_replay_file))
        case MarketSource.SYNTHETIC:
            return settings.start_or(default_start(calendar, wall().astimezone(IST).date()))


@dataclass
class SimRuntime:
    settings: SimSettings
    calendar: MarketCalendar
    controller: SimClockController
    universe: Universe
    market: SimMarket
    broker: Broker
    credentials: Credentials
    limiter: RateLimiter
    faults: Faults
    metrics: SimMetrics
    feed: FeedHub
    order_updates: OrderUpdateHub
    engine: Engine
    publisher: ClockPublisher
    control: ControlTargets
    static_ip: StaticIpGate = field(default_factory=StaticIpGate)  # order calls' address whitelist
    replay: ReplayPlayer | None = None  # replay mode
    master: MasterReport | None = None  # the universe came from `sim_master_file`
    paper: PaperTicks | None = None  # paper mode: subscribe it to the bus once connected
    persister: StatePersister | None = None  # `sim_state_dir` set
    holds: ClockHolds | None = None  # `sim_clock_participants` set: the held day
    started_wall: datetime = field(default_factory=wall_clock)  # when it was built (token validity)

    @asynccontextmanager
    async def running(self, sink: ClockSink) -> AsyncIterator[SimRuntime]:
        """Publish the clock through `sink` and run the engine; on exit close every socket."""
        self.publisher.start(sink, self.controller.state)
        self.engine.start()
        try:
            yield self
        finally:
            await self.engine.stop()
            if self.persister is not None:
                await self.persister.save()
            self.feed.drop_all()
            self.order_updates.close_all()
            await self.publisher.stop()


def build_runtime(
    settings: SimSettings, parts: SimParts, metrics: ServiceMetrics | None = None
) -> SimRuntime:
    calendar = MarketCalendar()
    source = settings.market_source
    store = StateStore(settings.sim_state_dir) if settings.sim_state_dir is not None else None
    saved = read_state(settings, store) if store is not None else None
    start = start_instant(settings, calendar, parts.wall)
    trading_day = start.astimezone(IST).date()
    if saved is not None:
        start, trading_day = _continue_from(saved, source, start, trading_day)
    controller = SimClockController(start, _speed(settings, saved), wall=parts.wall)
    master = None
    if settings.sim_master_file is not None:  # replay or paper only (the settings see to it)
        loaded = load_master(settings.sim_master_file)
        universe, master = loaded.universe, loaded.report
    else:
        universe = build_universe(
            trading_day, calendar, UniverseParams(strikes_each_side=settings.sim_strikes_around_atm)
        )
    ticks = TickMarket(universe) if source is not MarketSource.SYNTHETIC else None
    market: SimMarket = (
        ticks if ticks is not None else parts.market(settings, calendar, universe, trading_day)
    )
    broker = parts.broker(settings, universe, market, controller.now)
    if saved is not None:
        _restore_books(broker, saved)
    credentials = Credentials(
        client_id=settings.sim_client_id,
        access_token=settings.sim_access_token.get_secret_value(),
        bad_token_style=settings.sim_bad_token_style,
    )
    faults = Faults()
    sim_metrics = SimMetrics(metrics or ServiceMetrics("sim"))
    feed = FeedHub(
        universe,
        market,
        sim_metrics,
        now=controller.now,
        prev_close_on_subscribe=source is MarketSource.SYNTHETIC,
        calendar=calendar,
        status_on_subscribe=settings.sim_feed_status_on_subscribe,
    )
    order_updates = OrderUpdateHub(
        faults,
        sim_metrics,
        settings.sim_order_update_status_case,
        keys=settings.sim_order_update_keys,
        monotonic=parts.monotonic,
    )
    broker.add_alert_listener(order_updates.on_alert)
    faults.on_drop_feed.append(feed.drop_all)

    def expire_credentials() -> None:
        credentials.expired = True

    faults.on_token_expired.extend([expire_credentials, feed.expire_all, order_updates.close_all])
    replay = None
    if ticks is not None and settings.sim_replay_file is not None:
        replay = ReplayPlayer(settings.sim_replay_file, universe, ticks, feed, sim_metrics)
    engine = Engine(
        controller,
        broker,
        feed,
        calendar,
        sim_metrics,
        base_step_seconds=settings.sim_market_step_seconds,
        max_steps_per_wall_second=settings.sim_max_feed_steps_per_wall_second,
        source=replay,
        synthetic_feed=source is MarketSource.SYNTHETIC,
    )
    publisher = ClockPublisher(sim_metrics)
    controller.subscribe(publisher.offer)
    if saved is not None and source is not MarketSource.PAPER:  # the build took time: start exactly there
        controller.set(start, controller.state.speed, paused=saved.clock.paused)
    if settings.sim_start_paused:
        controller.pause()  # after the engine subscribed: its grid starts at `start` exactly
    static_ip = StaticIpGate(
        settings.static_ips, settings.sim_static_ip_refusal, on_refused=sim_metrics.static_ip_refusals.inc
    )
    control = ControlTargets(
        controller=controller,
        engine=engine,
        broker=broker,
        faults=faults,
        credentials=credentials,
        universe=universe,
        feed=feed,
        order_updates=order_updates,
        scenario=market,
        monotonic=parts.monotonic,
        clock_fixed="paper mode runs on the wall clock" if source is MarketSource.PAPER else None,
        static_ip=static_ip,
    )
    limiter_seconds = (
        (lambda: controller.now().timestamp())
        if settings.sim_rate_limit_time is RateLimitTime.MARKET
        else parts.monotonic
    )
    if saved is not None:
        order_updates.restore_frames_sent(saved.order_update_frames)
    persister = _persister(
        store, settings, broker, controller, order_updates, trading_day, sim_metrics, parts
    )
    holds = _holds(settings, controller, engine, feed, order_updates)
    engine.after_step = _after_step(persister, holds)
    control.holds = holds
    return SimRuntime(
        settings=settings,
        calendar=calendar,
        controller=controller,
        universe=universe,
        market=market,
        broker=broker,
        credentials=credentials,
        limiter=RateLimiter(monotonic=limiter_seconds),
        faults=faults,
        metrics=sim_metrics,
        feed=feed,
        order_updates=order_updates,
        engine=engine,
        publisher=publisher,
        control=control,
        static_ip=static_ip,
        replay=replay,
        master=master,
        paper=PaperTicks(ticks, sim_metrics) if ticks is not None and source is MarketSource.PAPER else None,
        persister=persister,
        holds=holds,
        started_wall=parts.wall(),
    )


def _holds(
    settings: SimSettings,
    controller: SimClockController,
    engine: Engine,
    feed: FeedHub,
    order_updates: OrderUpdateHub,
) -> ClockHolds | None:
    if not settings.sim_clock_participants:
        return None
    return ClockHolds(
        controller, engine, feed, order_updates, settings.sim_clock_participants,
        timeout_seconds=settings.sim_clock_hold_timeout_seconds,
    )  # fmt: skip


def _after_step(
    persister: StatePersister | None, holds: ClockHolds | None
) -> Callable[[datetime], Awaitable[None]] | None:
    """Save the state (if kept), then hold the clock (if held), after each engine step."""
    if holds is None:
        return None if persister is None else persister.after_step
    if persister is None:
        return holds.after_step
    saving, holding = persister.after_step, holds.after_step

    async def both(at: datetime) -> None:
        await saving(at)
        await holding(at)

    return both


def _speed(settings: SimSettings, saved: SavedState | None) -> Decimal:
    if saved is None or settings.market_source is MarketSource.PAPER:
        return settings.sim_speed
    return saved.clock.speed


def _continue_from(
    saved: SavedState, source: MarketSource, start: datetime, trading_day: date
) -> tuple[datetime, date]:
    """Where a restored sim starts: the saved market instant and day (paper: now, same day only)."""
    if source is MarketSource.PAPER:
        if saved.trading_day != trading_day:
            raise StateStoreError(
                f"the paper broker's saved state is of {saved.trading_day}, today is {trading_day}: "
                "start the new day with an empty SARATHI_SIM_STATE_DIR"
            )
        return start, trading_day
    return saved.clock.market_now, saved.trading_day


def _restore_books(broker: Broker, saved: SavedState) -> None:
    if not isinstance(broker, PaperBroker):
        raise StateStoreError("SARATHI_SIM_STATE_DIR keeps the real paper broker only")
    try:
        restore_broker(broker, saved.broker)
    except BrokerStateError as exc:
        raise StateStoreError(f"cannot restore the paper broker: {exc}") from None
    log.info(
        "sim_state_restored", generation=saved.generation, market_now=saved.clock.market_now.isoformat(),
        speed=str(saved.clock.speed), paused=saved.clock.paused, orders=len(broker.book.orders),
        trades=len(broker.book.trades),
    )  # fmt: skip


def _persister(  # noqa: PLR0917 - a private helper of build_runtime, called once
    store: StateStore | None,
    settings: SimSettings,
    broker: Broker,
    controller: SimClockController,
    order_updates: OrderUpdateHub,
    trading_day: date,
    metrics: SimMetrics,
    parts: SimParts,
) -> StatePersister | None:
    if store is None:
        return None
    if not isinstance(broker, PaperBroker):
        raise StateStoreError("SARATHI_SIM_STATE_DIR keeps the real paper broker only")
    persister = StatePersister(
        store, settings=settings, broker=broker, controller=controller, order_updates=order_updates,
        trading_day=trading_day,
        metrics=metrics, monotonic=parts.monotonic, interval_seconds=settings.sim_state_clock_save_seconds,
    )  # fmt: skip
    persister.save_now()  # a first snapshot (or the restored one again, as the current file)
    return persister
