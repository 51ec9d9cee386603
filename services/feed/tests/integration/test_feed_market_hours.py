"""Market hours through the real sim and NATS: no stale alarm before the open nor at it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import nats
from nats.aio.msg import Msg

from sarathi.common.bus import subjects
from sarathi.common.clock import IST
from sarathi.common.dhan.feed_requests import FeedInstrument
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.sim.testing.harness import SimPool, runtime_of

from .conftest import FAST_SIM, eventually, feed_settings, publishing_clock, running_feed

EIGHT_AM = datetime(2026, 9, 15, 8, 0, tzinfo=IST)
NOT_LISTED = FeedInstrument(ExchangeSegment.NSE_FNO, "999999")  # the sim ignores it: it cannot tick


def _gauge(service: object, name: str) -> float:
    return float(service.metrics.registry.get_sample_value(name) or 0.0)  # type: ignore[attr-defined]


async def test_no_stale_alarm_at_eight_nor_at_the_open_and_an_unlisted_contract_is_unanswered(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**FAST_SIM, sim_start=EIGHT_AM, **publishing_clock(jetstream_clean))
    clock = runtime_of(served).controller
    alarms: list[Msg] = []

    async def on_stale(msg: Msg) -> None:
        alarms.append(msg)

    client = await nats.connect(jetstream_clean)
    await client.subscribe(subjects.FEED_STALE, cb=on_stale)
    try:
        async with running_feed(feed_settings(served, jetstream_clean, tmp_path)) as feed:
            assert feed.manager is not None
            feed.manager.subscribe("execution", [NOT_LISTED])
            await eventually(lambda: clock.now() >= EIGHT_AM + timedelta(seconds=100))  # 20x the threshold
            assert _gauge(feed, "sarathi_feed_market_open_state") == 0
            assert not alarms, "stale alarms at 08:00"
            async with httpx.AsyncClient(base_url=served.http_url) as http:
                opening = EIGHT_AM.replace(hour=9, minute=14, second=50)
                response = await http.post("/sim/clock", json={"start": opening.isoformat(), "speed": 50})
                assert response.status_code == 200
            await eventually(lambda: clock.now() >= opening + timedelta(seconds=100))
            assert _gauge(feed, "sarathi_feed_market_open_state") == 1
            assert _gauge(feed, "sarathi_feed_unanswered_instruments_count") == 1
            await client.flush()
            assert not alarms, "stale alarms at the open or for a contract that cannot tick"
            assert feed.manager.processor.cache, "ticks flowed"
    finally:
        await client.close()
