"""The chaos tool's JetStream probe on a real NATS server."""

from __future__ import annotations

import asyncio

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from sarathi.cli.chaos.probe import JetStreamProbe


async def test_the_probe_sees_a_consumer_s_backlog_until_it_acks(jetstream_clean: str) -> None:
    nc = await nats.connect(jetstream_clean)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="ORDER_CMD", subjects=["order.cmd.>"]))
    await js.add_consumer(
        "ORDER_CMD",
        ConsumerConfig(durable_name="orders", ack_policy=AckPolicy.EXPLICIT, filter_subject="order.cmd.>"),
    )
    probe = await asyncio.to_thread(JetStreamProbe, jetstream_clean, ("ORDER_CMD",))
    try:
        assert (await asyncio.to_thread(probe.read)).pending == 0
        await js.publish("order.cmd.exit", b"{}")
        queued = await asyncio.to_thread(probe.read)
        assert (queued.pending, queued.busy) == (1, ("ORDER_CMD/orders",))
        subscription = await js.pull_subscribe_bind("orders", stream="ORDER_CMD")
        (message,) = await subscription.fetch(1, timeout=5)
        delivered = await asyncio.to_thread(probe.read)
        assert delivered.pending == 1  # delivered, not yet acknowledged
        assert delivered.marks == (("ORDER_CMD/orders", 1, 0),)
        await message.ack_sync()
        done = await asyncio.to_thread(probe.read)
        assert (done.pending, done.busy, done.marks) == (0, (), (("ORDER_CMD/orders", 1, 1),))
    finally:
        await asyncio.to_thread(probe.close)
        await nc.close()
