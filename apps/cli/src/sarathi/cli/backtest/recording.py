"""`sarathi backtest --recording DIR`: a recorded day through the services' decision code.

A recording is what the system read from Dhan that day (`sarathi run` writes one to
`<run dir>/recording`; a live system writes one wherever its `SARATHI_*_RECORDER_DIRECTORY`
settings say):
- `feed-YYYYMMDD.rec`: every market-feed frame as received (`sarathi.common.dhan.recording`);
- `replies-YYYYMMDD-<service>.jsonl`: the data replies acted on, with their market times: the
  option chains execution fetched, the warm-up history signals fetched
  (`sarathi.common.dhan.replies`);
- `instruments-YYYYMMDD.csv`: the index options execution synced (lot sizes, expiries, freeze
  quantities; `sarathi.execution.refdata.snapshot`).

Replay, at each instant t (a recorded frame's, or a check of risk's loop), in the order the held
simulated day runs it (`sarathi.sim.holds`: the clock moves to t and the loops due at t run; the
sim steps its broker at t and sends t's ticks; the services act on them while t is held):
1. risk's 5-second loop, at its own instants (`sarathi.risk.loop.next_check`): square-off, trail,
   stale price, daily loss and the loss budget, on the prices before t;
2. the frames of t go through the feed's own `FrameProcessor`, so the ticks are the very messages
   the services got (prices, exchange and receive times);
3. the broker's step at t: our exits, entries and Super Order legs meet the latest recorded quote
   of their contract by the sim's paper-broker rules (`fills.QuoteFills`); an exit risk decided
   at t meets t's market, an entry placed at t the next instant's;
4. signals: index ticks into signals' `BarBuilder` (warmed up from the recorded history reply);
   a bar closes on the first tick at or after its end, or its end plus the grace; each closed
   bar is decided by signals' `decide`, and a signal goes to execution's `EntryDecider` with
   the chains execution's `ChainCache` serves from the recorded replies.
A check of risk's with no frame at its instant is followed by the broker's step there, on the
latest quotes (the sim steps every 5 s whether or not a quote moved).

Causes of difference found against the services' days, each fixed here:
- risk's check at t ran after t's frames and its exit met the market only at the next instant.
  On the scripted day (`tests/test_simulated_day.py`) the 15:15:00 square-off then filled at
  15:15:05 against the services' 15:15:00. A trail exit came out right either way (decided on
  the same prices, sold in the same step); a square-off, decided by the time alone, did not.

What a recording cannot say: the quote of a contract before the feed subscribed it (a
subscription starts when risk learns of the entry), an option chain at an instant execution did
not fetch one (the last one before is served, as stale as it is), and anything Dhan did at its
end that the feed did not show (a broker's fill between two ticks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sarathi.cli.backtest.engine import Config, DayResult, Decisions, _DayState
from sarathi.cli.backtest.fills import QuoteFills
from sarathi.common.clock import FakeClock
from sarathi.common.dhan.history import IntradayBars
from sarathi.common.dhan.recording import RecordingError, read_frames, recording_path
from sarathi.common.dhan.replies import RecordedReply, read_replies
from sarathi.common.dhan.schemas import parse
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import Contract, ContractKey, ExchangeSegment, Underlying
from sarathi.common.domain.trading import Direction
from sarathi.common.messages.market import Tick
from sarathi.common.metrics import ServiceMetrics
from sarathi.execution.adapters.chain_cache import ChainCache, ChainUnavailableError
from sarathi.execution.adapters.derivatives import ListedContract, ListedContracts
from sarathi.execution.decide import EntryDecider
from sarathi.execution.refdata.snapshot import read_instruments
from sarathi.feed.domain.staleness import StalenessWatchdog
from sarathi.feed.metrics import FeedMetrics
from sarathi.feed.pipeline import FrameProcessor
from sarathi.risk.loop import next_check
from sarathi.signals.adapters.history import to_closed_bars
from sarathi.signals.domain import BarBuilder, ClosedBar, decide
from sarathi.signals.worker import FUTURE_TICK_TOLERANCE
from sarathi.sim.replay import frame_instant


@dataclass(frozen=True)
class Recording:
    directory: Path
    day: date
    feed: Path
    replies: list[RecordedReply]
    instruments: list[ListedContract]

    @property
    def name(self) -> str:
        return f"{self.directory.name or self.directory} {self.day}"


def recorded_days(directory: Path) -> list[date]:
    """The days of the feed files in `directory`."""
    found = []
    for path in sorted(directory.glob("feed-*.rec")):
        try:
            found.append(date.fromisoformat(path.stem.removeprefix("feed-")))  # YYYYMMDD
        except ValueError:
            continue
    return found


def open_recording(directory: Path, day: date | None = None) -> Recording:
    """The recording of `day` (default: the only day recorded) in `directory`, or `RecordingError`."""
    if not directory.is_dir():
        raise RecordingError(f"--recording {directory}: no such directory")
    days = recorded_days(directory)
    if day is None:
        if len(days) != 1:
            listed = ", ".join(str(d) for d in days) or "none"
            raise RecordingError(
                f"--recording {directory}: {len(days)} days recorded ({listed}); say which with --day"
            )
        day = days[0]
    feed = recording_path(directory, day)
    if not feed.is_file():
        raise RecordingError(f"--recording {directory}: no feed recording of {day} ({feed.name})")
    instruments = read_instruments(directory, day)
    if not instruments:
        raise RecordingError(
            f"--recording {directory}: no instruments-{day:%Y%m%d}.csv: execution's recorder was off "
            "that day, so the contracts it could trade are unknown"
        )
    return Recording(directory, day, feed, read_replies(directory, day), instruments)


class _Collect:
    """The feed's tick sink, keeping the payloads."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    async def publish(self, subject: str, payload: bytes) -> None:
        self.payloads.append(payload)


async def recorded_ticks(path: Path) -> list[tuple[datetime, list[Tick]]]:
    """The recording's frames as the feed turned them into ticks, grouped by receive instant."""
    sink = _Collect()
    clock: FakeClock | None = None
    processor: FrameProcessor | None = None
    groups: list[tuple[datetime, list[Tick]]] = []
    for frame in read_frames(path):
        at = frame_instant(frame.received_ns)
        if clock is None or processor is None:
            clock = FakeClock(at)
            metrics = FeedMetrics(ServiceMetrics("feed"))  # a registry of its own, never served
            watchdog = StalenessWatchdog(float("inf"), float("inf"))
            processor = FrameProcessor(sink=sink, clock=clock, metrics=metrics, watchdog=watchdog)
        clock.set(at)
        await processor.process(0, [frame.frame], at)
        ticks = [Tick.model_validate_json(payload) for payload in sink.payloads]
        sink.payloads.clear()
        if groups and groups[-1][0] == at:
            groups[-1][1].extend(ticks)
        else:
            groups.append((at, ticks))
    return groups


class RecordedChains:
    """Execution's `ChainSource` over the recorded `optionchain` replies: the latest recorded at
    or before now (the services fetched it then; a backtest that asks when they did not gets the
    one before, and the decision says how old it is)."""

    def __init__(self, replies: list[RecordedReply], clock: FakeClock) -> None:
        self._clock = clock
        self._replies: dict[tuple[str, str], list[RecordedReply]] = {}
        for reply in replies:
            if reply.kind == "optionchain":
                key = (str(reply.request["underlying"]), str(reply.request["expiry"]))
                self._replies.setdefault(key, []).append(reply)

    async def fetch(self, underlying: Underlying, expiry: date) -> Any:
        now = self._clock.now()
        found = [r for r in self._replies.get((underlying.value, expiry.isoformat()), []) if r.at <= now]
        if not found:
            raise ChainUnavailableError(
                f"the recording has no {underlying} {expiry} option chain by {now:%H:%M:%S}"
            )
        return found[-1].body


class RecordedMarket:
    """Execution's ports and the books' view (`engine.Market`) over one recorded day."""

    def __init__(self, recording: Recording, clock: FakeClock, chain_max_age_seconds: float) -> None:
        self.clock = clock
        self.marks: dict[str, tuple[Decimal, datetime]] = {}
        self.latest_tick: dict[ContractKey, Tick] = {}
        self.chains = ChainCache(
            RecordedChains(recording.replies, clock), clock, max_age_seconds=chain_max_age_seconds
        )
        self.derivatives = ListedContracts(recording.instruments)  # the day's synced instruments

    def apply(self, ticks: list[Tick]) -> None:
        for tick in ticks:
            self.latest_tick[ContractKey(tick.segment, tick.security_id)] = tick

    # --- latest ticks (the feed's snapshot) ------------------------------------------------------

    async def latest(self, keys: list[ContractKey]) -> dict[ContractKey, Tick]:
        return {key: self.latest_tick[key] for key in keys if key in self.latest_tick}

    # --- the books' view -------------------------------------------------------------------------

    def point(self, security_id: str, at: datetime) -> Tick | None:
        listed = self.derivatives.listed(security_id)
        if listed is None:
            return None
        tick = self.latest_tick.get(ContractKey(listed.contract.segment, security_id))
        return tick if tick is not None and tick.ltp > 0 else None

    @staticmethod
    def mark(point: Tick, at: datetime) -> tuple[Decimal, datetime]:
        return point.ltp, point.received_at

    def contract_of(self, security_id: str) -> Contract:
        listed = self.derivatives.listed(security_id)
        if listed is None:
            raise KeyError(f"{security_id} is not among the recorded instruments")
        return listed.contract


@dataclass
class _Index:
    underlying: Underlying
    builder: BarBuilder
    listening_from: datetime | None = None  # signals' warm-up reply: its ticks come after
    notes: list[str] = field(default_factory=list)


def _warm_up(index: _Index, replies: list[RecordedReply], minutes: int) -> None:
    """Seed the builder from the underlying's first `intraday` reply, as signals did at its start
    (it listens to ticks only after that: earlier ticks were not its)."""
    name = index.underlying.value
    found = [r for r in replies if r.kind == "intraday" and r.request.get("underlying") == name]
    if not found:
        index.notes.append(f"{name}: no warm-up history in the recording (signals was warming up)")
        return
    reply = found[0]
    candles = parse(IntradayBars, reply.body)
    bars: list[ClosedBar] = to_closed_bars(candles, index.underlying, minutes, reply.at)
    index.builder.seed(bars)
    index.listening_from = reply.at


async def run_recording(
    config: Config,
    recording: Recording,
    *,
    calendar: MarketCalendar | None = None,
    progress: Callable[[datetime], None] | None = None,
) -> DayResult:
    """The recorded day through the services' decision code (module docstring)."""
    calendar = calendar or MarketCalendar()
    groups = await recorded_ticks(recording.feed)
    result = DayResult(recording.day)
    if not groups:
        result.missing.extend(u.value for u in config.underlyings)
        return result
    engine = Decisions(config, QuoteFills(config.fills.slippage_ticks))
    first = groups[0][0]
    clock = FakeClock(first)
    market = RecordedMarket(recording, clock, config.execution.chain_max_age_seconds)
    signals = config.signals
    grace = timedelta(seconds=signals.close_grace_seconds)
    indices = {
        u.spec.security_id: _Index(u, BarBuilder(u, calendar, minutes=signals.bar_minutes, close_grace=grace))
        for u in config.underlyings
    }
    for index in indices.values():
        _warm_up(index, recording.replies, signals.bar_minutes)
        result.notes.extend(index.notes)
    state = _DayState(engine, result, market, recording.day)
    decider = EntryDecider(
        engine._rules, calendar=calendar, chains=market.chains, derivatives=market.derivatives,
        latest_ticks=market.latest, trading_state=state.trading_state, loss_budget=state.loss_budget,
    )  # fmt: skip
    interval = config.risk.risk_loop_interval_seconds
    risk_at = next_check(first, interval)

    async def close(index: _Index, bars: list[ClosedBar], now: datetime) -> None:
        for bar in bars:
            decision = decide(index.builder.history_until(bar.end), engine._trend)
            if decision.direction is not Direction.NEUTRAL:
                await state.signal(decider, index.underlying, decision, now, bar_end=bar.end)

    for at, ticks in groups:
        while risk_at < at:  # a check with no frame at its instant, then the broker's step there
            clock.set(risk_at)
            state.risk_check(risk_at)
            state.fills(risk_at)  # on the latest quotes: nothing moved since
            risk_at = next_check(risk_at, interval)
        clock.set(at)
        if risk_at == at:  # the check due at t runs on the prices before t, then the market of t
            state.risk_check(at)
            risk_at = next_check(at, interval)
        market.apply(ticks)
        state.fills(at)
        for tick in ticks:
            ticked = indices.get(tick.security_id)
            if ticked is None or tick.segment is not ExchangeSegment.IDX_I:
                continue
            if ticked.listening_from is not None and at < ticked.listening_from:
                continue  # signals was still warming up
            ticked.builder.on_tick(tick.ltp, tick.exchange_time, tick.received_at)
            if tick.exchange_time <= at + FUTURE_TICK_TOLERANCE:
                await close(ticked, ticked.builder.close_through(tick.exchange_time), at)
        for index in indices.values():
            await close(index, index.builder.close_due(at), at)
        if progress is not None:
            progress(at)
    state.end(max(calendar.session_close(recording.day), groups[-1][0]))
    return result


__all__ = ["Recording", "RecordingError", "open_recording", "recorded_days", "run_recording"]
