"""Risk writes what is left of today's loss budget to KV `control` after every check, from its own
day P&L (the figure execution's sizing keeps each entry's loss at the stop within)."""

from __future__ import annotations

from decimal import Decimal

from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY
from sarathi.common.messages.base import decode_as
from sarathi.common.messages.risk import DailyLossBudget

from ..builders import NIFTY_CALL, position_opened
from .support import Rig, risk_running


async def latest_budget(rig: Rig) -> DailyLossBudget:
    entry = await rig.bus.kv_get(DAILY_LOSS_BUDGET_KEY)
    assert entry is not None, "no loss budget written"
    return decode_as(entry.value, DailyLossBudget)


async def test_every_check_writes_the_limit_plus_todays_net_pnl_as_the_budget_left() -> None:
    async with risk_running(risk_daily_loss_limit_inr=Decimal(5000)) as rig:
        await rig.advance(5)
        flat = await latest_budget(rig)
        assert (flat.net_pnl, flat.loss_limit, flat.remaining) == (0, Decimal(5000), Decimal(5000))
        assert flat.trading_day == rig.clock.now().date()

        opened = position_opened(
            "sub-0001", when=rig.clock.now(), net=130, average="240", security_id=NIFTY_CALL
        )
        await rig.event(opened)
        await rig.advance(5, price="210")  # (210 − 240) × 130 = −₹3,900 gross, less charges
        budget = await latest_budget(rig)
        day = rig.service.guardian.day(rig.clock.now())
        assert budget.event_time == rig.clock.now()
        assert budget.net_pnl == day.pnl.net.quantize(Decimal("0.01")) < Decimal(-3900)
        assert budget.remaining == Decimal(5000) + budget.net_pnl


async def test_a_spent_budget_reads_zero_never_negative() -> None:
    async with risk_running(risk_daily_loss_limit_inr=Decimal(1000)) as rig:
        opened = position_opened(
            "sub-0001", when=rig.clock.now(), net=130, average="240", security_id=NIFTY_CALL
        )
        await rig.event(opened)
        await rig.advance(5, price="200")  # −₹5,200: far beyond the ₹1,000 limit
        budget = await latest_budget(rig)
        assert budget.net_pnl < Decimal(-5200)
        assert budget.remaining == 0
