"""The risk service's gauges that dashboards and alert rules divide by one another."""

from __future__ import annotations

from decimal import Decimal

from .support import risk_running


async def test_the_daily_loss_limit_is_exported_beside_the_day_pnl_after_each_check() -> None:
    async with risk_running(risk_daily_loss_limit_inr=Decimal(2500)) as rig:
        registry = rig.service.metrics.registry
        await rig.advance(5)
        assert rig.service.loop.rounds == 1
        assert registry.get_sample_value("sarathi_risk_daily_loss_limit_inr") == 2500.0
        assert registry.get_sample_value("sarathi_risk_day_pnl_inr", {"basis": "net"}) == 0.0
