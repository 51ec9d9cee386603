"""When the sim writes a snapshot: after a change of the broker or the clock, not after a barrier move."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sarathi.common.metrics import ServiceMetrics
from sarathi.sim.broker.config import StatusCase
from sarathi.sim.clock import SimClockController
from sarathi.sim.faults import Faults
from sarathi.sim.persistence import StatePersister, read_state
from sarathi.sim.settings import SimSettings
from sarathi.sim.state_store import StateStore
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws.order_updates import OrderUpdateHub

from ..broker.conftest import START, Kit


def a_persister(kit: Kit, directory: Path) -> tuple[StatePersister, SimClockController, StateStore]:
    controller = SimClockController(START, Decimal(10), wall=lambda: START)
    store = StateStore(directory)
    metrics = SimMetrics(ServiceMetrics("sim"))
    order_updates = OrderUpdateHub(Faults(), metrics, StatusCase.TITLE)
    order_updates.restore_frames_sent(41)
    persister = StatePersister(
        store, settings=SimSettings(sim_publish_clock=False), broker=kit.broker, controller=controller,
        order_updates=order_updates, trading_day=START.date(), metrics=metrics, monotonic=lambda: 0.0,
        interval_seconds=0.5,
    )  # fmt: skip
    persister.save_now()
    return persister, controller, store


async def test_a_placement_and_a_pause_are_saved_a_moved_barrier_is_not(tmp_path: Path) -> None:
    kit = Kit()
    persister, controller, store = a_persister(kit, tmp_path)
    controller.run_until(START + timedelta(minutes=5))
    await persister.save_if_changed()
    assert store.generation == 1
    kit.buy(65, correlation_id="one")
    await persister.save_if_changed()
    assert store.generation == 2
    controller.pause()
    await persister.save_if_changed()
    assert store.generation == 3
    saved = read_state(SimSettings(sim_publish_clock=False), StateStore(tmp_path))
    assert saved is not None
    assert saved.clock.paused
    assert [o["correlation_id"] for o in saved.broker["orders"]] == ["one"]
    assert saved.order_update_frames == 41
