"""A toy sim for socket and contract tests: fixed start, no NATS, toy market, recording broker."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sarathi.common.clock import IST
from sarathi.common.settings import SIM_ACCESS_TOKEN
from sarathi.sim.app import build_app
from sarathi.sim.runtime import SimParts, SimRuntime
from sarathi.sim.settings import SimSettings
from sarathi.sim.testing.fakes import RecordingBroker, ToyMarket
from sarathi.sim.testing.server import ServedSim, serving
from sarathi.sim.wiring import no_rest

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)  # a Tuesday session open
CLIENT_ID = "1000000001"
TOKEN = SIM_ACCESS_TOKEN


def toy_parts() -> SimParts:
    return SimParts(
        market=lambda settings, _calendar, universe, _day: ToyMarket(universe, settings.sim_seed),
        broker=lambda _settings, _universe, _market, _now: RecordingBroker(),
    )


def toy_settings(**overrides: Any) -> SimSettings:
    values: dict[str, Any] = {
        "sim_publish_clock": False,
        "sim_start": OPEN,
        "sim_speed": Decimal(1),
        "sim_strikes_around_atm": 2,
    }
    values.update(overrides)
    return SimSettings(**values)


class SimPool:
    """Starts fresh sims on demand; `close()` stops every one of them."""

    def __init__(self) -> None:
        self._stack = ExitStack()

    def start(self, *, real: bool = False, **overrides: Any) -> ServedSim:
        """A toy sim, or with `real=True` the real market model, broker and `/v2` routers."""
        settings = toy_settings(**overrides)
        app = build_app(settings) if real else build_app(settings, parts=toy_parts(), rest=no_rest)
        return self._stack.enter_context(serving(app, settings))

    def close(self) -> None:
        self._stack.close()


def sim_pool() -> Iterator[SimPool]:
    """Body of a pytest fixture: `yield from sim_pool()`."""
    pool = SimPool()
    try:
        yield pool
    finally:
        pool.close()


def runtime_of(served: ServedSim) -> SimRuntime:
    runtime: SimRuntime = served.app.state.sim
    return runtime


def feed_url(served: ServedSim, token: str = TOKEN, client_id: str = CLIENT_ID) -> str:
    """The URL the official MarketFeed builds (v2 query string)."""
    return f"{served.feed_url}?version=2&token={token}&clientId={client_id}&authType=2"


def login_frame(token: str = TOKEN, client_id: str = CLIENT_ID) -> str:
    """The order-update login the official OrderUpdate sends."""
    return json.dumps(
        {"LoginReq": {"MsgCode": 42, "ClientId": client_id, "Token": token}, "UserType": "SELF"}
    )


T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], what: str, timeout_seconds: float = 15.0) -> T:
    """Poll `condition` until it returns something truthy and return that; fail after the deadline.

    For tests that watch the sim through its HTTP API from another thread (no event to await).
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_seconds} s waiting for {what} (last: {value!r})")
        time.sleep(0.02)  # a poll interval under a deadline, not a timing assumption
