"""The order-update hub's frame counter: once per (socket, frame) actually handed to a socket."""

from __future__ import annotations

import json

from sarathi.common.metrics import ServiceMetrics
from sarathi.sim.broker.config import StatusCase
from sarathi.sim.faults import Faults
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws.order_updates import OrderUpdateHub
from sarathi.sim.ws.outbox import Outbox


class Monotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def a_hub() -> tuple[OrderUpdateHub, Faults, Monotonic]:
    faults, monotonic = Faults(), Monotonic()
    hub = OrderUpdateHub(faults, SimMetrics(ServiceMetrics("sim")), StatusCase.TITLE, monotonic=monotonic)
    return hub, faults, monotonic


async def drained(outbox: Outbox) -> list[str]:
    """The order numbers of the frames queued on `outbox` (taken off it)."""
    frames = []
    while len(outbox):
        item = await outbox.get()
        assert isinstance(item, str)
        frames.append(json.loads(item)["Data"]["OrderNo"])
    return frames


async def test_each_alert_is_one_frame_counted_once_per_connection() -> None:
    hub, _, _ = a_hub()
    first, second = Outbox(100), Outbox(100)
    hub.add(first)
    hub.on_alert({"OrderNo": "1", "Status": "TRADED"})
    assert hub.frames_sent == 1
    hub.add(second)
    hub.on_alert({"OrderNo": "2", "Status": "PENDING"})
    hub.on_alert({"OrderNo": "3", "Status": "TRADED"})
    assert hub.frames_sent == 5  # 1 + 2 alerts × 2 sockets
    assert (await drained(first), await drained(second)) == (["1", "2", "3"], ["2", "3"])


def test_an_alert_with_no_connection_is_not_counted() -> None:
    hub, _, _ = a_hub()
    hub.on_alert({"OrderNo": "1", "Status": "TRADED"})
    assert hub.frames_sent == 0
    socket = Outbox(100)
    hub.add(socket)
    hub.remove(socket)
    hub.on_alert({"OrderNo": "2", "Status": "TRADED"})
    assert hub.frames_sent == 0


def test_a_socket_that_refuses_the_frame_is_not_counted() -> None:
    hub, _, _ = a_hub()
    closing, open_ = Outbox(100), Outbox(100)
    closing.close(1000)
    hub.add(closing)
    hub.add(open_)
    hub.on_alert({"OrderNo": "1", "Status": "TRADED"})
    assert hub.frames_sent == 1


async def test_held_frames_are_counted_only_when_delivered() -> None:
    hub, faults, monotonic = a_hub()
    socket = Outbox(100)
    hub.add(socket)
    faults.order_updates_paused_until = monotonic.value + 5
    hub.on_alert({"OrderNo": "1", "Status": "PENDING"})
    hub.on_alert({"OrderNo": "2", "Status": "TRADED"})
    assert (hub.held, hub.frames_sent, len(socket)) == (2, 0, 0)
    monotonic.value += 5
    hub.reschedule()  # the pause is over: both are released, in order
    assert (hub.held, hub.frames_sent) == (0, 2)
    assert await drained(socket) == ["1", "2"]


def test_held_frames_whose_socket_left_before_the_release_are_not_counted() -> None:
    hub, faults, monotonic = a_hub()
    socket = Outbox(100)
    hub.add(socket)
    faults.order_updates_paused_until = monotonic.value + 5
    hub.on_alert({"OrderNo": "1", "Status": "TRADED"})
    hub.remove(socket)
    monotonic.value += 5
    hub.reschedule()
    assert (hub.held, hub.frames_sent) == (0, 0)
