"""The hand-written Tick JSON is byte-identical to pydantic's and decodes to the same Tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.common.messages.base import decode_as
from sarathi.common.messages.market import Tick
from sarathi.feed.domain.ticks import TickEncoder, iso, price_text

SEGMENTS = st.sampled_from([ExchangeSegment.IDX_I, ExchangeSegment.NSE_FNO, ExchangeSegment.BSE_FNO])
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive; zone below
    max_value=datetime(2035, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda d: d.astimezone(IST))
COUNTS = st.none() | st.integers(0, 2**32 - 1)


def _decimal(paise: int | None) -> Decimal | None:
    return None if paise is None else Decimal(paise).scaleb(-2)


@settings(max_examples=300)
@given(
    segment=SEGMENTS,
    security_id=st.integers(0, 2**32 - 1),
    ticks=st.integers(0, 2_000_000),
    exchange_epoch=st.integers(1, 2**32 - 1 - 19_800),
    received=INSTANTS,
    event_delay_us=st.integers(0, 10**7),
    counts=st.tuples(COUNTS, COUNTS, COUNTS, COUNTS, COUNTS),
    book=st.tuples(st.none() | st.integers(0, 2_000_000), st.none() | st.integers(0, 2_000_000)),
)
def test_hand_written_tick_json_equals_pydantic_and_decodes_to_the_same_tick(
    *,
    segment: ExchangeSegment,
    security_id: int,
    ticks: int,
    exchange_epoch: int,
    received: datetime,
    event_delay_us: int,
    counts: tuple[int | None, ...],
    book: tuple[int | None, int | None],
) -> None:
    encoder = TickEncoder(prefix="p")
    route = encoder.route(segment.code, security_id)
    assert route is not None
    step = 5 if route.derivative else 1  # derivative prices on the 0.05 tick
    ltp, bid, ask = (
        ticks * step,
        None if book[0] is None else book[0] * step,
        None if book[1] is None else book[1] * step,
    )
    ltq, volume, oi, bid_qty, ask_qty = counts
    event_time = received + timedelta(microseconds=event_delay_us)
    payload = encoder.encode(
        route, event_time=iso(event_time), received_at=iso(received), ltp=ltp, exchange_epoch=exchange_epoch,
        ltq=ltq, volume=volume, oi=oi, bid=bid, bid_qty=bid_qty, ask=ask, ask_qty=ask_qty,
    )  # fmt: skip
    assert payload is not None
    expected = Tick(
        message_id="p1", correlation_id="p1", event_time=event_time, segment=segment,
        security_id=str(security_id), ltp=_decimal(ltp), ltq=ltq,
        exchange_time=datetime.fromtimestamp(exchange_epoch, IST), received_at=received,
        volume=volume, oi=oi, bid=_decimal(bid), bid_qty=bid_qty, ask=_decimal(ask), ask_qty=ask_qty,
    )  # fmt: skip
    assert payload == expected.model_dump_json().encode()
    assert decode_as(payload, Tick) == expected


def test_a_derivative_price_off_the_option_tick_is_refused() -> None:
    encoder = TickEncoder()
    route = encoder.route(ExchangeSegment.NSE_FNO.code, 47317)
    assert route is not None
    assert encoder.encode(route, event_time="x", received_at="x", ltp=10001, exchange_epoch=1) is None
    assert (
        encoder.encode(route, event_time="x", received_at="x", ltp=10000, exchange_epoch=1, bid=9998) is None
    )


def test_an_unknown_segment_code_has_no_route() -> None:
    assert TickEncoder().route(6, 13) is None


def test_prices_are_written_with_two_decimals() -> None:
    assert [price_text(p) for p in (0, 5, 100, 2481235)] == ["0.00", "0.05", "1.00", "24812.35"]
