"""Orders' `BrokerRefusedOrders` (Dhan refused an order call for the static IP): HALTED with the
reason, audited, once; a refusal of an earlier trading day (a consumer created late) is ignored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sarathi.common.bus import subjects
from sarathi.common.domain.control import TradingState
from sarathi.common.messages.base import envelope
from sarathi.common.messages.risk import BrokerRefusedOrders

from .support import Rig, risk_running


def a_refusal(target: str, at: datetime) -> BrokerRefusedOrders:
    return BrokerRefusedOrders(
        **envelope(message_id=f"refused-PLACE-{target}", correlation_id=target, event_time=at),
        error_code="DH-911",
        reason="Invalid IP",
        operation="PLACE",
        target=target,
    )


async def refused(rig: Rig, message: BrokerRefusedOrders) -> None:
    await rig.bus.publish_durable(subjects.BROKER_REFUSED_ORDERS, message)
    await rig.bus.settle()


async def test_a_refusal_halts_trading_with_its_reason_and_is_audited() -> None:
    async with risk_running() as rig:
        await refused(rig, a_refusal("sub-0001", rig.clock.now()))

        current = rig.service.control.current
        assert (current.state, current.actor) == (TradingState.HALTED, "orders")
        assert "DH-911 Invalid IP (place sub-0001)" in current.reason
        assert [entry.action for entry in rig.store.audits] == ["initialize", "broker_refused"]
        assert len(rig.risk_events("TradingStateChanged")) == 1


async def test_a_second_refusal_while_halted_changes_and_audits_nothing() -> None:
    async with risk_running() as rig:
        await refused(rig, a_refusal("sub-0001", rig.clock.now()))
        await refused(rig, a_refusal("sub-0002", rig.clock.now()))

        assert len(rig.risk_events("TradingStateChanged")) == 1
        assert [entry.action for entry in rig.store.audits].count("broker_refused") == 1


async def test_a_refusal_of_an_earlier_trading_day_is_ignored() -> None:
    async with risk_running() as rig:
        await refused(rig, a_refusal("sub-0001", rig.clock.now() - timedelta(days=1)))

        assert rig.service.control.state is TradingState.ACTIVE
