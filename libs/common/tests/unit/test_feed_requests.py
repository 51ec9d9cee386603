import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.dhan.feed_requests import (
    FeedInstrument,
    FeedMode,
    FeedRequestError,
    build_disconnect,
    build_requests,
    parse_request,
)
from sarathi.common.domain.instruments import ExchangeSegment


def options(n: int) -> list[FeedInstrument]:
    return [FeedInstrument(ExchangeSegment.NSE_FNO, str(40000 + i)) for i in range(n)]


def test_subscriptions_are_batched_one_hundred_per_message_in_order() -> None:
    frames = build_requests(FeedMode.QUOTE, options(250))
    bodies = [json.loads(f) for f in frames]
    assert [b["InstrumentCount"] for b in bodies] == [100, 100, 50]
    assert {b["RequestCode"] for b in bodies} == {17}
    assert bodies[2]["InstrumentList"][-1] == {"ExchangeSegment": "NSE_FNO", "SecurityId": "40249"}


def test_unsubscribe_uses_the_next_request_code() -> None:
    (frame,) = build_requests(FeedMode.FULL, options(1), subscribe=False)
    assert json.loads(frame)["RequestCode"] == 22
    parsed = parse_request(frame)
    assert (parsed.mode, parsed.subscribe) == (FeedMode.FULL, False)


@given(st.sampled_from(list(FeedMode)), st.integers(0, 100), st.booleans())
def test_built_requests_parse_back_to_the_same_instruments(mode: FeedMode, n: int, subscribe: bool) -> None:
    for frame in build_requests(mode, options(n), subscribe=subscribe):
        parsed = parse_request(frame)
        assert parsed.mode is mode
        assert parsed.subscribe is subscribe
        assert list(parsed.instruments) == options(n)[: len(parsed.instruments)]


def test_disconnect_request() -> None:
    assert parse_request(build_disconnect()).is_disconnect


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", 814),
        ('{"RequestCode": 99, "InstrumentList": []}', 814),
        ('{"RequestCode": 15, "InstrumentList": [{"ExchangeSegment": "XYZ", "SecurityId": "1"}]}', 814),
        ('{"RequestCode": 15, "InstrumentList": [{"ExchangeSegment": "IDX_I", "SecurityId": "x"}]}', 813),
        ("[1, 2]", 814),
    ],
)
def test_bad_requests_name_dhans_reason(frame: str, reason: int) -> None:
    with pytest.raises(FeedRequestError) as caught:
        parse_request(frame)
    assert caught.value.reason == reason


def test_more_than_one_hundred_instruments_in_one_message_is_refused_with_804() -> None:
    body = {
        "RequestCode": 15,
        "InstrumentList": [{"ExchangeSegment": "NSE_FNO", "SecurityId": str(i)} for i in range(101)],
    }
    with pytest.raises(FeedRequestError) as caught:
        parse_request(json.dumps(body))
    assert caught.value.reason == 804


@given(st.text(max_size=200))
def test_random_text_never_raises_anything_but_a_request_error(text: str) -> None:
    with contextlib.suppress(FeedRequestError):
        parse_request(text)
