"""Subjects are built in one place and can never be split or wildcarded by a value."""

import pytest

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.subjects import SubjectError
from sarathi.common.domain.instruments import ExchangeSegment, SecurityId, Underlying


def test_tick_subject_uses_the_segment_wire_name_and_security_id() -> None:
    assert subjects.tick(ExchangeSegment.NSE_FNO, SecurityId("35001")) == "md.tick.NSE_FNO.35001"
    assert subjects.tick(ExchangeSegment.IDX_I, "13") == "md.tick.IDX_I.13"


def test_tick_wildcards_cover_all_ticks_or_one_segment() -> None:
    assert subjects.tick_wildcard() == "md.tick.>"
    assert subjects.tick_wildcard(ExchangeSegment.BSE_FNO) == "md.tick.BSE_FNO.*"
    assert subjects.matches(subjects.tick_wildcard(ExchangeSegment.BSE_FNO), "md.tick.BSE_FNO.1")
    assert not subjects.matches(subjects.tick_wildcard(ExchangeSegment.BSE_FNO), "md.tick.NSE_FNO.1")


def test_bar_and_signal_subjects_name_the_underlying() -> None:
    assert subjects.bar("5m", Underlying.NIFTY) == "md.bar.5m.NIFTY"
    assert subjects.bar_wildcard("5m") == "md.bar.5m.*"
    assert subjects.signal(Underlying.BANKNIFTY) == "signal.BANKNIFTY"


def test_fixed_subjects_match_the_architecture() -> None:
    assert subjects.FEED_SUBSCRIBE == "feed.subscribe"
    assert subjects.FEED_UNSUBSCRIBE == "feed.unsubscribe"
    assert subjects.ORDER_CMD_SUBMIT == "order.cmd.submit"
    assert subjects.ORDER_CMD_EXIT == "order.cmd.exit"
    assert subjects.ORDER_CMD_CANCEL == "order.cmd.cancel"


def test_event_subjects_are_prefixed_by_their_family() -> None:
    assert subjects.order_event("OrderFilled") == "order.evt.OrderFilled"
    assert subjects.position_event("PositionOpened") == "position.evt.PositionOpened"
    assert subjects.risk_event("TrailingArmed") == "risk.evt.TrailingArmed"
    assert subjects.feed_health("FeedStale") == subjects.FEED_STALE == "feed.health.FeedStale"
    assert subjects.feed_health("FeedRecovered") == subjects.FEED_RECOVERED == "feed.health.FeedRecovered"
    assert subjects.matches(subjects.FEED_HEALTH_ALL, subjects.FEED_STALE)


def test_dead_letter_subject_prefixes_the_original() -> None:
    assert subjects.dead_letter("order.cmd.submit") == "dlq.order.cmd.submit"


@pytest.mark.parametrize("bad", ["", "a.b", "*", ">", "NIFTY 50", "x\ty", "a>b", "a*"])
def test_a_token_with_dot_wildcard_or_whitespace_is_refused(bad: str) -> None:
    with pytest.raises(SubjectError):
        subjects.signal(bad)
    with pytest.raises(SubjectError):
        subjects.tick(ExchangeSegment.NSE_FNO, bad)
    with pytest.raises(SubjectError):
        subjects.order_event(bad)


def test_validate_subject_allows_wildcards_only_when_asked() -> None:
    assert subjects.validate_subject("md.tick.*.13", wildcards=True) == "md.tick.*.13"
    assert subjects.validate_subject("order.evt.>", wildcards=True) == "order.evt.>"
    with pytest.raises(SubjectError):
        subjects.validate_subject("order.evt.>")
    with pytest.raises(SubjectError):
        subjects.validate_subject("order.>.evt", wildcards=True)
    with pytest.raises(SubjectError):
        subjects.validate_subject("order..evt")


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("order.cmd.>", "order.cmd.submit", True),
        ("order.cmd.>", "order.cmd", False),
        ("order.*.submit", "order.cmd.submit", True),
        ("order.*", "order.cmd.submit", False),
        ("signal.NIFTY", "signal.NIFTY", True),
        ("signal.NIFTY", "signal.SENSEX", False),
    ],
)
def test_matches_follows_nats_wildcard_rules(pattern: str, subject: str, expected: bool) -> None:
    assert subjects.matches(pattern, subject) is expected


def test_each_durable_subject_is_stored_by_exactly_one_stream() -> None:
    durable = {
        subjects.bar("5m", Underlying.SENSEX): "MD_BARS",
        subjects.signal(Underlying.NIFTY): "SIGNALS",
        subjects.ORDER_CMD_EXIT: "ORDER_CMD",
        subjects.order_event("OrderFilled"): "ORDER_EVT",
        subjects.position_event("PositionClosed"): "ORDER_EVT",
        subjects.risk_event("DailyLossBreached"): "RISK_EVT",
        subjects.dead_letter(subjects.ORDER_CMD_SUBMIT): "DLQ",
    }
    for subject, stream in durable.items():
        assert [s.name for s in streams.STREAMS if s.covers(subject)] == [stream], subject
    assert streams.stream_for(subjects.tick(ExchangeSegment.NSE_FNO, "1")) is None


def test_the_feeds_health_events_are_stored_by_no_stream_and_are_not_risk_events() -> None:
    for subject in (subjects.FEED_STALE, subjects.FEED_RECOVERED):
        assert streams.stream_for(subject) is None, subject  # nobody consumes them
        assert not subjects.matches(subjects.RISK_EVENTS_ALL, subject)


def test_order_commands_are_deduplicated_for_a_whole_trading_day() -> None:
    assert streams.ORDER_CMD.duplicate_window.total_seconds() >= 24 * 3600
