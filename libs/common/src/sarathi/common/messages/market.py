"""Market-data messages: ticks, bars, feed health and feed subscriptions (ARCHITECTURE §3).

`Tick` is published on core NATS at `md.tick.<segment>.<security_id>`; `Bar` on JetStream at
`md.bar.<interval>.<underlying>`. Subscriptions are core NATS request/reply on `feed.subscribe`
and `feed.unsubscribe`: the feed keeps an instrument subscribed while any requester wants it.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.common.domain.money import OPTION_TICK, is_on_tick
from sarathi.common.messages.base import Message, register
from sarathi.common.messages.fields import (
    BarInterval,
    Count,
    FrozenModel,
    Milliseconds,
    Name,
    QuotePrice,
    Segment,
    Text,
    WireIndexLevel,
    WireSecurityId,
)

DERIVATIVE_SEGMENTS = frozenset({ExchangeSegment.NSE_FNO, ExchangeSegment.BSE_FNO})
"""Segments whose prices lie on the ₹0.05 option tick (index options; index futures use 0.10)."""


class InstrumentRef(FrozenModel):
    """One instrument of the feed: Dhan's segment and security id."""

    segment: Segment
    security_id: WireSecurityId


@register
class Tick(Message):
    """The latest trade (and, in quote/full mode, the top of book) of one instrument.

    For an index (`IDX_I`) `ltp` is the index level, which has no tick grid (24812.35); for a
    derivative it is the premium and must lie on the ₹0.05 tick, as must `bid` and `ask`.
    `exchange_time` is the exchange's last-trade time, `received_at` when the feed read the
    packet, and the envelope's `event_time` when the feed published it (all on the Clock).
    """

    type: Literal["Tick"] = "Tick"
    segment: Segment
    security_id: WireSecurityId
    ltp: QuotePrice
    ltq: Count | None = None
    exchange_time: AwareDatetime
    received_at: AwareDatetime
    volume: Count | None = None
    oi: Count | None = None
    bid: QuotePrice | None = None
    bid_qty: Count | None = None
    ask: QuotePrice | None = None
    ask_qty: Count | None = None

    @model_validator(mode="after")
    def _derivative_prices_on_tick(self) -> Self:
        if self.segment in DERIVATIVE_SEGMENTS:
            for name, value in (("ltp", self.ltp), ("bid", self.bid), ("ask", self.ask)):
                if value is not None and not is_on_tick(value, OPTION_TICK):
                    raise ValueError(
                        f"{name} {value} of a {self.segment.wire} contract is off the {OPTION_TICK} tick"
                    )
        return self


@register
class Bar(Message):
    """One closed OHLC bar of an index, `start` inclusive to `end` exclusive (market time)."""

    type: Literal["Bar"] = "Bar"
    underlying: Underlying
    interval: BarInterval
    start: AwareDatetime
    end: AwareDatetime
    open: WireIndexLevel
    high: WireIndexLevel
    low: WireIndexLevel
    close: WireIndexLevel
    tick_count: Count
    volume: Count = 0  # an index has no traded volume; 0 unless the source provides one

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"bar end {self.end} is not after its start {self.start}")
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise ValueError("bar prices violate low ≤ open, close ≤ high")
        return self


class _FeedHealth(Message):
    """Feed health is about one instrument, or about a whole connection when both ids are absent."""

    connection: Name
    segment: Segment | None = None
    security_id: WireSecurityId | None = None

    @model_validator(mode="after")
    def _instrument_or_connection(self) -> Self:
        if (self.segment is None) != (self.security_id is None):
            raise ValueError("give both segment and security_id (one instrument) or neither (the connection)")
        return self


@register
class FeedStale(_FeedHealth):
    """No data for longer than the staleness threshold: nobody may trade on these prices."""

    type: Literal["FeedStale"] = "FeedStale"
    age_ms: Milliseconds
    threshold_ms: Milliseconds
    last_data_at: AwareDatetime | None = None


@register
class FeedRecovered(_FeedHealth):
    """Data flows again after a `FeedStale`."""

    type: Literal["FeedRecovered"] = "FeedRecovered"
    stale_for_ms: Milliseconds


@register
class SubscribeRequest(Message):
    """Ask the feed to stream ticks of these instruments (request on `feed.subscribe`)."""

    type: Literal["SubscribeRequest"] = "SubscribeRequest"
    requester: Name
    instruments: tuple[InstrumentRef, ...] = Field(min_length=1)


class RefusedInstrument(FrozenModel):
    """An instrument the feed would not subscribe, and why."""

    segment: Segment
    security_id: WireSecurityId
    reason: Text


@register
class SubscribeReply(Message):
    """The feed's answer to a `SubscribeRequest`."""

    type: Literal["SubscribeReply"] = "SubscribeReply"
    subscribed: tuple[InstrumentRef, ...] = ()
    refused: tuple[RefusedInstrument, ...] = ()


@register
class UnsubscribeRequest(Message):
    """This requester no longer needs these instruments (request on `feed.unsubscribe`)."""

    type: Literal["UnsubscribeRequest"] = "UnsubscribeRequest"
    requester: Name
    instruments: tuple[InstrumentRef, ...] = Field(min_length=1)


@register
class UnsubscribeReply(Message):
    """The feed's answer to an `UnsubscribeRequest`: what this requester no longer holds."""

    type: Literal["UnsubscribeReply"] = "UnsubscribeReply"
    unsubscribed: tuple[InstrumentRef, ...] = ()


@register
class TickSnapshotRequest(Message):
    """The latest tick of each of these instruments, now (for a service that starts late)."""

    type: Literal["TickSnapshotRequest"] = "TickSnapshotRequest"
    requester: Name
    instruments: tuple[InstrumentRef, ...] = Field(min_length=1)


@register
class TickSnapshot(Message):
    """The feed cache's answer: the latest tick per instrument, and those it has none for."""

    type: Literal["TickSnapshot"] = "TickSnapshot"
    ticks: tuple[Tick, ...] = ()
    missing: tuple[InstrumentRef, ...] = ()
