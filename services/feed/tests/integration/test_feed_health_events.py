"""The feed's health events go out on `feed.health.*` (core NATS), not on risk's subjects.

The feed service (real NATS) against the sim: the sim's `expire_token` fault silences the
connection (Dhan's 807), so the watchdog says `FeedStale`; `restore_token` lets data flow again
and it says `FeedRecovered`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import nats
from nats.aio.msg import Msg

from sarathi.common.bus import subjects
from sarathi.common.messages.base import decode
from sarathi.common.messages.market import FeedRecovered, FeedStale
from sarathi.sim.testing.harness import SimPool

from .conftest import FAST_SIM, eventually, feed_settings, publishing_clock, running_feed

WITHIN_SECONDS = 15.0


class HealthTap:
    """The feed's health events as they arrive, with their subjects."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []
        self._changed = asyncio.Event()

    async def on_message(self, msg: Msg) -> None:
        self.seen.append((msg.subject, decode(msg.data)))
        self._changed.set()

    def of(self, kind: type) -> list[tuple[str, object]]:
        return [(subject, m) for subject, m in self.seen if isinstance(m, kind)]

    async def wait_for(self, kind: type) -> None:
        async def loop() -> None:
            while not self.of(kind):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), WITHIN_SECONDS)


async def _fault(http_url: str, kind: str) -> None:
    async with httpx.AsyncClient(base_url=http_url) as http:
        response = await http.post("/sim/faults", json={"kind": kind})
    assert response.status_code == 200, response.text


async def test_a_silent_connection_is_reported_stale_then_recovered_on_the_feed_health_subjects(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**FAST_SIM, **publishing_clock(jetstream_clean))
    settings = feed_settings(
        served, jetstream_clean, tmp_path,
        feed_auth_retry_initial_seconds=0.1, feed_auth_retry_max_seconds=0.2,
    )  # fmt: skip
    tap = HealthTap()
    client = await nats.connect(jetstream_clean)
    await client.subscribe(subjects.FEED_HEALTH_ALL, cb=tap.on_message)
    await client.flush()
    try:
        async with running_feed(settings) as feed:
            assert feed.manager is not None
            manager = feed.manager
            await eventually(lambda: bool(manager.connections) and manager.connections[0].ready)

            await _fault(served.http_url, "expire_token")
            await tap.wait_for(FeedStale)
            await _fault(served.http_url, "restore_token")
            await tap.wait_for(FeedRecovered)
    finally:
        await client.close()

    subject, stale = tap.of(FeedStale)[0]
    assert subject == subjects.FEED_STALE
    assert isinstance(stale, FeedStale)
    assert stale.connection == "dhan-0"
    assert stale.age_ms >= stale.threshold_ms > 0
    assert {s for s, _ in tap.of(FeedRecovered)} == {subjects.FEED_RECOVERED}
