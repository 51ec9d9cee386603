"""Pure domain rules: subscription book, backoff, disconnect reasons, staleness watchdog."""

from __future__ import annotations

import json

import pytest

from sarathi.common.dhan.feed_requests import FeedInstrument, FeedMode, build_requests
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.feed.domain.disconnects import Action, verdict_for_reason
from sarathi.feed.domain.staleness import Recovered, Stale, StalenessWatchdog, Unanswered
from sarathi.feed.domain.subscriptions import SubscriptionBook

NIFTY = FeedInstrument(ExchangeSegment.IDX_I, "13")


def an_option(n: int) -> FeedInstrument:
    return FeedInstrument(ExchangeSegment.NSE_FNO, str(40000 + n))


def a_book(**kwargs: int) -> SubscriptionBook:
    return SubscriptionBook(
        lambda i: FeedMode.TICKER if i.segment is ExchangeSegment.IDX_I else FeedMode.FULL, **kwargs
    )


def test_an_instrument_stays_subscribed_while_any_requester_holds_it() -> None:
    book = a_book()
    first = book.add("execution", [an_option(1)])
    assert [(c.connection, c.mode, c.subscribe) for c in first.changes] == [(0, FeedMode.FULL, True)]
    assert book.add("risk", [an_option(1)]).changes == ()
    assert book.add("risk", [an_option(1)]).changes == ()  # the same requester twice holds it once
    assert book.remove("execution", [an_option(1)]).changes == ()
    last = book.remove("risk", [an_option(1)])
    assert [(c.connection, c.subscribe, c.instruments) for c in last.changes] == [(0, False, (an_option(1),))]
    assert an_option(1) not in book


def test_releasing_what_a_requester_never_held_changes_nothing() -> None:
    book = a_book()
    book.add("execution", [an_option(1)])
    outcome = book.remove("risk", [an_option(1)])
    assert outcome.changes == ()
    assert outcome.accepted == ()
    assert an_option(1) in book


def test_instruments_fill_a_connection_before_the_next_and_are_refused_beyond_the_limit() -> None:
    book = a_book(max_connections=2, per_connection=3)
    outcome = book.add("execution", [an_option(n) for n in range(7)])
    assert [book.connection_of(an_option(n)) for n in range(6)] == [0, 0, 0, 1, 1, 1]
    assert [key for key, _ in outcome.refused] == [an_option(6)]
    assert "limit of 6 instruments" in outcome.refused[0][1]
    book.remove("execution", [an_option(1)])
    book.add("execution", [an_option(9)])
    assert book.connection_of(an_option(9)) == 0


def test_five_thousand_instruments_per_connection_in_request_frames_of_at_most_one_hundred() -> None:
    book = a_book()
    outcome = book.add("execution", [an_option(n) for n in range(12_000)])
    assert book.connections_in_use() == [0, 1, 2]
    assert [book.load(n) for n in range(3)] == [5000, 5000, 2000]
    frames = [f for c in outcome.changes for f in build_requests(c.mode, list(c.instruments))]
    assert max(json.loads(f)["InstrumentCount"] for f in frames) == 100
    assert sum(json.loads(f)["InstrumentCount"] for f in frames) == 12_000


def test_a_reconnected_connection_resubscribes_everything_it_owns_by_mode() -> None:
    book = a_book()
    book.add("feed", [NIFTY])
    book.add("execution", [an_option(1), an_option(2)])
    changes = book.on_connection(0)
    assert {(c.mode, c.instruments) for c in changes} == {
        (FeedMode.TICKER, (NIFTY,)),
        (FeedMode.FULL, (an_option(1), an_option(2))),
    }
    assert book.on_connection(1) == ()


@pytest.mark.parametrize(
    ("reason", "action", "auth", "words"),
    [
        (805, Action.COOL_OFF, False, "too many connections"),
        (806, Action.AUTH_WAIT, True, "not subscribed"),
        (807, Action.AUTH_WAIT, True, "access token expired"),
        (808, Action.AUTH_WAIT, True, "authentication failed"),
        (809, Action.AUTH_WAIT, True, "access token invalid"),
        (810, Action.AUTH_WAIT, True, "client id invalid"),
        (804, Action.STOP, False, "refused our subscription"),
        (899, Action.RECONNECT, False, "reason 899"),
    ],
)
def test_dhan_disconnect_reasons_become_clear_messages_and_actions(
    reason: int, action: Action, auth: bool, words: str
) -> None:
    verdict = verdict_for_reason(reason)
    assert (verdict.action, verdict.auth_failure, verdict.label) == (action, auth, str(reason))
    assert words in verdict.message


def test_an_instrument_goes_stale_after_its_threshold_and_recovers_when_ticks_return() -> None:
    watchdog = StalenessWatchdog(instrument_threshold_seconds=10, connection_threshold_seconds=5)
    watchdog.connection_started(0, now=0.0)
    watchdog.track(an_option(1), 0, now=0.0)
    watchdog.seen[an_option(1)] = 3.0
    watchdog.connection_data[0] = 11.0  # other instruments still tick on the connection
    assert watchdog.check(12.0) == []
    assert watchdog.check(13.5) == [Stale(0, an_option(1), 10.5, 10, 3.0)]
    assert watchdog.check(14.0) == []  # reported once
    watchdog.seen[an_option(1)] = watchdog.connection_data[0] = 20.0
    assert watchdog.check(20.5) == [Recovered(0, an_option(1), 17.0)]
    assert watchdog.stale_count == 0


def test_a_silent_connection_goes_stale_after_its_own_threshold() -> None:
    watchdog = StalenessWatchdog(instrument_threshold_seconds=10, connection_threshold_seconds=5)
    watchdog.connection_started(0, now=0.0)
    assert watchdog.check(6.0) == [Stale(0, None, 6.0, 5, None)]
    watchdog.connection_data[0] = 7.0
    assert watchdog.check(7.5) == [Recovered(0, None, 7.0)]


def test_silence_while_the_market_is_closed_is_not_stale_for_instruments_nor_connections() -> None:
    watchdog = StalenessWatchdog(instrument_threshold_seconds=10, connection_threshold_seconds=5)
    watchdog.connection_started(0, now=0.0)
    watchdog.track(NIFTY, 0, now=0.0)
    watchdog.answered.add(NIFTY)  # its prev-close came at subscription, then nothing (08:00)
    assert watchdog.check(60.0, opened_at=None) == []
    assert watchdog.connection_age(0, 60.0, opened_at=None) == 0.0
    assert watchdog.stale_count == 0


def test_an_instrument_subscribed_2574_seconds_before_the_open_is_not_stale_at_the_open() -> None:
    """The 2,574 s of issue #17: subscribed at 08:32:06, judged at 09:15:00 before its first tick
    arrived, the wait since the subscription counted as silence in the session."""
    opened = 10_000.0
    watchdog = StalenessWatchdog(instrument_threshold_seconds=15, connection_threshold_seconds=5)
    watchdog.connection_started(0, now=opened - 2574)
    watchdog.track(NIFTY, 0, now=opened - 2574)
    watchdog.answered.add(NIFTY)
    watchdog.connection_data[0] = opened - 2574  # the prev-close frame
    assert watchdog.check(opened + 0.5, opened_at=opened) == []
    assert watchdog.connection_age(0, opened + 0.5, opened_at=opened) == 0.5
    watchdog.seen[NIFTY] = watchdog.connection_data[0] = opened + 1
    assert watchdog.check(opened + 2, opened_at=opened) == []
    later = watchdog.check(opened + 17, opened_at=opened)  # real silence in the session still counts
    assert later == [Stale(0, None, 16.0, 5, opened + 1), Stale(0, NIFTY, 16.0, 15, opened + 1)]


def test_what_is_stale_at_the_close_recovers_and_is_not_judged_until_the_next_open() -> None:
    watchdog = StalenessWatchdog(instrument_threshold_seconds=10, connection_threshold_seconds=5)
    watchdog.connection_started(0, now=0.0)
    watchdog.track(NIFTY, 0, now=0.0)
    watchdog.answered.add(NIFTY)
    watchdog.connection_data[0] = 100.0
    assert watchdog.check(100.0, opened_at=0.0) == [Stale(0, NIFTY, 100.0, 10, None)]
    assert watchdog.check(101.0, opened_at=None) == [Recovered(0, NIFTY, 101.0)]  # silent since 0
    assert watchdog.stale_count == 0
    assert watchdog.check(5000.0, opened_at=None) == []


def test_an_instrument_dhan_never_answered_cannot_tick_and_is_reported_once_not_stale() -> None:
    watchdog = StalenessWatchdog(instrument_threshold_seconds=10, connection_threshold_seconds=5)
    watchdog.connection_started(0, now=0.0)
    watchdog.track(an_option(9), 0, now=0.0)  # no prev-close, no tick: the id is not listed
    watchdog.connection_data[0] = 11.0  # the connection carries other instruments' ticks
    assert watchdog.check(11.0) == [Unanswered(0, an_option(9), 11.0)]
    watchdog.connection_data[0] = 30.0
    assert watchdog.check(30.0) == []
    assert (watchdog.stale_count, watchdog.unanswered_count) == (0, 1)
    watchdog.untrack(an_option(9))
    assert watchdog.unanswered_count == 0
