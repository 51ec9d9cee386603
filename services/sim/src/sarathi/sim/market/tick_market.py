"""`TickMarket`: a `MarketView` driven by real ticks instead of the synthetic model.

Two inputs, one state: decoded Dhan feed packets (a replayed recording, `apply_packets`) and
`Tick` messages from NATS (paper mode, `apply_tick`). For each security id it keeps the latest
value of every field the packets carry: LTP and last-trade time/quantity, the five-level book
(from full packets), the day's volume, OI, OHLC, average price and the previous close / OI.
`quote(instrument, at)` answers that latest state, whatever `at` (the state is "as of the last
tick applied"; the engine applies every tick up to `at` before asking).

Choices (the sim's, not Dhan's):
- Top of book: the latest full packet's first depth level, or a tick's bid/ask. An instrument
  whose book was never seen (ticker or quote mode only) shows bid = ask = LTP, so the paper
  broker fills at the last traded price rather than never.
- OHLC: the latest quote/full packet's values; until one arrives, the open / high / low of the
  LTPs seen so far.
- An instrument with no tick yet answers a zero quote (LTP, bid and ask 0): the paper broker
  rejects a market order on it ("no market price") and never fills a limit or triggers a stop;
  the REST data endpoints show zeros. `has_quote` tells the two apart.
- Packets of ids the sim's universe does not list are kept too (they cost little) but nothing
  can ask for them. Market-status and disconnect packets carry no quote and are ignored.
- Scenario scripting needs the synthetic model: `script_*` raise `ScenarioUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sarathi.common.dhan import feed_codec as codec
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.common.messages.market import Tick
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.view import DepthLevel, Quote

ZERO = Decimal(0)


class ScenarioUnavailableError(ValueError):
    """Scripts drive the synthetic market only; a replayed or paper market cannot be scripted."""


def rupees(paise: int) -> Decimal:
    """Integer paise (the codec's unit) as rupees."""
    return Decimal(paise) / 100


def _instant(epoch: int) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC).astimezone(IST) if epoch else None


@dataclass
class _State:
    """The latest known values of one instrument (rupees as Decimal)."""

    ltp: Decimal = ZERO
    last_trade_time: datetime | None = None
    last_qty: int = 0
    average_price: Decimal = ZERO
    volume: int = 0
    oi: int = 0
    open: Decimal = ZERO
    high: Decimal = ZERO
    low: Decimal = ZERO
    prev_close: Decimal = ZERO
    prev_oi: int = 0
    bid: Decimal | None = None  # None: no book seen yet
    ask: Decimal | None = None
    bid_qty: int = 0
    ask_qty: int = 0
    bid_depth: tuple[DepthLevel, ...] = ()
    ask_depth: tuple[DepthLevel, ...] = ()
    traded: bool = False  # an LTP was seen

    def trade(self, ltp: Decimal, at: datetime | None, quantity: int | None = None) -> None:
        if ltp <= 0:
            return
        self.open = self.open if self.open > 0 else ltp
        self.high = max(self.high, ltp)
        self.low = ltp if self.low <= 0 else min(self.low, ltp)
        self.ltp, self.traded = ltp, True
        self.last_trade_time = at or self.last_trade_time
        if quantity is not None:
            self.last_qty = quantity

    def session(self, packet: codec.Quote | codec.Full) -> None:
        self.trade(rupees(packet.ltp_paise), _instant(packet.ltt_epoch), packet.ltq)
        self.average_price, self.volume = rupees(packet.atp_paise), packet.volume
        if packet.open_paise > 0:
            self.open, self.high, self.low = (
                rupees(packet.open_paise),
                rupees(packet.high_paise),
                rupees(packet.low_paise),
            )

    def book(self, depth: Sequence[codec.DepthLevel]) -> None:
        self.bid_depth = tuple(DepthLevel(rupees(d.bid_paise), d.bid_qty, d.bid_orders) for d in depth)
        self.ask_depth = tuple(DepthLevel(rupees(d.ask_paise), d.ask_qty, d.ask_orders) for d in depth)
        top = depth[0] if depth else codec.DepthLevel(0, 0, 0, 0, 0, 0)
        self.bid, self.ask = rupees(top.bid_paise), rupees(top.ask_paise)
        self.bid_qty, self.ask_qty = top.bid_qty, top.ask_qty


class TickMarket:
    """The latest tick of each instrument, as a `MarketView` (and a refusing `ScenarioScripting`)."""

    def __init__(self, universe: Universe) -> None:
        self._universe = universe
        self._states: dict[str, _State] = {}
        self.packets_applied = 0
        self.ticks_applied = 0

    @property
    def universe(self) -> Universe:
        return self._universe

    def reset(self) -> None:
        """Forget every tick (a replay rewinding to its beginning)."""
        self._states.clear()

    def _state(self, security_id: int | str) -> _State:
        key = str(security_id)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State()
        return state

    # -- inputs --------------------------------------------------------------------------------

    def apply_packets(self, packets: Iterable[codec.Packet]) -> None:
        """Fold decoded feed packets into the state, in order."""
        for packet in packets:
            match packet:
                case codec.Ticker():
                    self._state(packet.security_id).trade(
                        rupees(packet.ltp_paise), _instant(packet.ltt_epoch)
                    )
                case codec.Quote():
                    self._state(packet.security_id).session(packet)
                case codec.Full():
                    state = self._state(packet.security_id)
                    state.session(packet)
                    state.oi = packet.oi
                    state.book(packet.depth)
                case codec.OpenInterest():
                    self._state(packet.security_id).oi = packet.oi
                case codec.PrevClose():
                    state = self._state(packet.security_id)
                    state.prev_close, state.prev_oi = rupees(packet.prev_close_paise), packet.prev_oi
                case _:
                    continue  # market status, disconnect: no quote in them
            self.packets_applied += 1

    def apply_tick(self, tick: Tick) -> None:
        """Fold one bus `Tick` into the state (paper mode)."""
        state = self._state(tick.security_id)
        state.trade(tick.ltp, tick.exchange_time.astimezone(IST), tick.ltq)
        if tick.volume is not None:
            state.volume = tick.volume
        if tick.oi is not None:
            state.oi = tick.oi
        if tick.bid is not None or tick.ask is not None:
            state.bid, state.ask = tick.bid or ZERO, tick.ask or ZERO
            state.bid_qty, state.ask_qty = tick.bid_qty or 0, tick.ask_qty or 0
            state.bid_depth = state.ask_depth = ()
        self.ticks_applied += 1

    # -- MarketView ----------------------------------------------------------------------------

    def has_quote(self, instrument: SimInstrument) -> bool:
        state = self._states.get(instrument.security_id)
        return state is not None and state.traded

    def quote(self, instrument: SimInstrument, at: datetime) -> Quote:
        """The latest state of `instrument`; a zero quote when it has had no tick."""
        state = self._states.get(instrument.security_id) or _State()
        index = instrument.is_index
        bid = ZERO if index else (state.bid if state.bid is not None else state.ltp)
        ask = ZERO if index else (state.ask if state.ask is not None else state.ltp)
        return Quote(
            security_id=instrument.security_id,
            at=at,
            ltp=state.ltp,
            last_trade_time=state.last_trade_time or at,
            last_qty=state.last_qty,
            bid=bid,
            ask=ask,
            bid_qty=state.bid_qty,
            ask_qty=state.ask_qty,
            volume=state.volume,
            oi=state.oi,
            open=state.open,
            high=state.high,
            low=state.low,
            prev_close=state.prev_close,
            prev_oi=state.prev_oi,
            average_price=state.average_price,
            bid_depth=state.bid_depth,
            ask_depth=state.ask_depth,
        )

    def index_level(self, underlying: Underlying, at: datetime) -> Decimal:
        """The index's latest LTP (0 before its first tick)."""
        return self.quote(self._universe.index(underlying), at).ltp

    # -- ScenarioScripting ---------------------------------------------------------------------

    def script_underlying(
        self, underlying: Underlying, start: datetime, points: Sequence[tuple[float, Decimal]]
    ) -> None:
        raise ScenarioUnavailableError("scenarios script the synthetic market; this sim's prices are ticks")

    def script_contract(
        self, security_id: str, start: datetime, points: Sequence[tuple[float, Decimal]]
    ) -> None:
        raise ScenarioUnavailableError("scenarios script the synthetic market; this sim's prices are ticks")
