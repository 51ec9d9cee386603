"""Risk holds a contract from its entry's acceptance (real NATS, PostgreSQL and the sim's clock):
an entry's `OrderAccepted` on `ORDER_EVT` → `feed.subscribe` of its contract with no position
yet; its `OrderRejected` → `feed.unsubscribe`. A bus responder stands in for the feed."""

from __future__ import annotations

from pathlib import Path

from sarathi.common.bus import subjects
from sarathi.common.bus.streams import ORDER_EVT
from sarathi.common.messages.market import SubscribeRequest, TickSnapshotRequest, UnsubscribeRequest
from sarathi.sim.testing.harness import SimPool

from ..builders import order_accepted, order_rejected
from ..service.support import FakeFeed
from .conftest import start_sim
from .harness import world


async def test_an_accepted_entry_is_subscribed_at_the_feed_before_any_position_and_released_when_rejected(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    served = start_sim(sims, jetstream_clean)
    async with world(served, jetstream_clean, database, tmp_path) as w:
        feed = FakeFeed()
        await w.bus.serve(subjects.FEED_SUBSCRIBE, feed.subscribe, accepts=SubscribeRequest)
        await w.bus.serve(subjects.FEED_UNSUBSCRIBE, feed.unsubscribe, accepts=UnsubscribeRequest)
        await w.bus.serve(subjects.FEED_SNAPSHOT, feed.snapshot, accepts=TickSnapshotRequest)
        security_id = w.option().security_id
        async with w.risk():
            accepted = order_accepted("sub-0001", when=w.market_now(), security_id=security_id)
            await w.bus.publish_durable(subjects.order_event(accepted.type), accepted)

            await w.wait_for(lambda: security_id in feed.held, "feed.subscribe of the entry's contract")
            assert feed.requests == ["subscribe"]
            assert await w.of(ORDER_EVT.name, "PositionOpened") == []

            rejected = order_rejected("sub-0001", when=w.market_now(), security_id=security_id)
            await w.bus.publish_durable(subjects.order_event(rejected.type), rejected)

            await w.wait_for(lambda: feed.requests == ["subscribe", "unsubscribe"], "feed.unsubscribe")
            assert feed.held == set()
