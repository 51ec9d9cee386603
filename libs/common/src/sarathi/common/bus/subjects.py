"""Every NATS subject of Sarathi is built here (ARCHITECTURE §3); no service writes one by hand.

Builders validate each variable token: it must be non-empty and contain no `.`, `*`, `>` or
whitespace, so a value can never split a subject or turn it into a wildcard. Constants name the
fixed subjects; `*_ALL` constants are the wildcards that streams and broad subscribers use.
"""

from __future__ import annotations

import re
from enum import Enum

from sarathi.common.domain.instruments import ExchangeSegment

_FORBIDDEN = re.compile(r"[.*>\s]")

TICKS_ALL = "md.tick.>"
BARS_ALL = "md.bar.>"
FEED_SUBSCRIBE = "feed.subscribe"
FEED_UNSUBSCRIBE = "feed.unsubscribe"
FEED_SNAPSHOT = "feed.snapshot"  # request/reply: the latest tick of each requested instrument
# The feed's health events, what `feed_health` builds: core NATS, stored by no stream (see there).
FEED_STALE = "feed.health.FeedStale"
FEED_RECOVERED = "feed.health.FeedRecovered"
FEED_HEALTH_ALL = "feed.health.>"
BROKER_REFUSED_ORDERS = "risk.evt.BrokerRefusedOrders"  # orders → risk (stream RISK_EVT): halt
SIGNALS_ALL = "signal.>"
ORDER_CMD_SUBMIT = "order.cmd.submit"
ORDER_CMD_EXIT = "order.cmd.exit"
ORDER_CMD_CANCEL = "order.cmd.cancel"
ORDER_CMD_ALL = "order.cmd.>"
ORDER_EVENTS_ALL = "order.evt.>"
POSITION_EVENTS_ALL = "position.evt.>"
RISK_EVENTS_ALL = "risk.evt.>"
SIM_CLOCK = "sim.clock"  # every SimClockState, as the KV key `control/sim_clock` holds it
# The clock protocol of the held simulated day (sim mode only, `sarathi.common.clock_hold`):
SIM_CLOCK_HELD = "sim.clock.held"  # sim → participants: ClockHeld
SIM_CLOCK_DONE = "sim.clock.done"  # participants → sim: ClockDone
DEAD_LETTER_PREFIX = "dlq"
DEAD_LETTERS_ALL = "dlq.>"


class SubjectError(ValueError):
    """A subject or subject token that would not mean what its builder intends."""


def token(value: str | Enum) -> str:
    """One validated subject token: enums contribute their wire spelling."""
    if isinstance(value, ExchangeSegment):
        text = value.wire
    elif isinstance(value, Enum):
        text = str(value.value)
    else:
        text = str(value)
    if not text or _FORBIDDEN.search(text):
        raise SubjectError(
            f"invalid subject token {text!r}: must be non-empty, without '.', '*', '>' or spaces"
        )
    return text


def validate_subject(subject: str, *, wildcards: bool = False) -> str:
    """Return `subject` if every token is valid; `*` and a final `>` only when `wildcards`."""
    tokens = subject.split(".")
    for index, part in enumerate(tokens):
        if wildcards and (part == "*" or (part == ">" and index == len(tokens) - 1)):
            continue
        try:
            token(part)
        except SubjectError as exc:
            raise SubjectError(f"invalid subject {subject!r}: {exc}") from None
    return subject


def matches(pattern: str, subject: str) -> bool:
    """True when the concrete `subject` matches `pattern` under NATS wildcard rules."""
    pattern_tokens = pattern.split(".")
    subject_tokens = subject.split(".")
    for index, part in enumerate(pattern_tokens):
        if part == ">":
            return len(subject_tokens) > index
        if index >= len(subject_tokens) or (part not in ("*", subject_tokens[index])):
            return False
    return len(pattern_tokens) == len(subject_tokens)


def tick(segment: ExchangeSegment, security_id: str) -> str:
    """`md.tick.<SEGMENT>.<security_id>`: one instrument's ticks (core NATS)."""
    return f"md.tick.{token(segment)}.{token(security_id)}"


def tick_wildcard(segment: ExchangeSegment | None = None) -> str:
    """Every tick (`md.tick.>`) or every tick of one segment (`md.tick.<SEGMENT>.*`)."""
    return TICKS_ALL if segment is None else f"md.tick.{token(segment)}.*"


def bar(interval: str, underlying: str | Enum) -> str:
    """`md.bar.<interval>.<underlying>`, e.g. `md.bar.5m.NIFTY` (stream MD_BARS)."""
    return f"md.bar.{token(interval)}.{token(underlying)}"


def bar_wildcard(interval: str | None = None) -> str:
    """Every bar (`md.bar.>`) or every bar of one interval (`md.bar.<interval>.*`)."""
    return BARS_ALL if interval is None else f"md.bar.{token(interval)}.*"


def feed_health(name: str) -> str:
    """`feed.health.<name>`: `FeedStale` / `FeedRecovered` (core NATS, no stream).

    No service consumes them: execution refuses entries on the underlying's tick age and risk
    exits on a contract's tick age, each from the ticks themselves. Operators get the same
    transitions as log lines and gauges (the SarathiFeedStale alert); the subject is for live
    observers (`nats sub 'feed.health.>'`).
    """
    return f"feed.health.{token(name)}"


def signal(underlying: str | Enum) -> str:
    """`signal.<underlying>` (stream SIGNALS)."""
    return f"signal.{token(underlying)}"


def order_event(name: str) -> str:
    """`order.evt.<name>`, e.g. `order.evt.OrderFilled` (stream ORDER_EVT)."""
    return f"order.evt.{token(name)}"


def position_event(name: str) -> str:
    """`position.evt.<name>`, e.g. `position.evt.PositionOpened` (stream ORDER_EVT)."""
    return f"position.evt.{token(name)}"


def risk_event(name: str) -> str:
    """`risk.evt.<name>`, e.g. `risk.evt.TrailingArmed` (stream RISK_EVT)."""
    return f"risk.evt.{token(name)}"


def dead_letter(subject: str) -> str:
    """`dlq.<original subject>`: where a message that cannot be handled is parked (stream DLQ)."""
    return f"{DEAD_LETTER_PREFIX}.{validate_subject(subject)}"
