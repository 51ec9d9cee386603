"""The backtest's risk check follows risk's own settings: the trail's P&L basis (gross or net)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sarathi.cli.backtest.command import build_config
from sarathi.cli.backtest.engine import DayResult, Decisions, _DayState, _Holding
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Contract, ExchangeSegment, OptionType, SecurityId, Underlying
from sarathi.common.domain.trading import ExitReason, Side
from sarathi.risk.domain import position as tracker

DAY = date(2026, 9, 16)
OPEN = datetime(2026, 9, 16, 10, 0, tzinfo=IST)
SID = "106290968"


class _Market:
    """Only what the risk check reads: the held contract's latest price."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[Decimal, datetime]] = {}

    def point(self, security_id: str, at: datetime) -> Any | None:
        return None

    def mark(self, point: Any, at: datetime) -> tuple[Decimal, datetime]:
        raise AssertionError("not used")

    def contract_of(self, security_id: str) -> Contract:
        return Contract(
            security_id=SecurityId(SID), segment=ExchangeSegment.NSE_FNO, underlying=Underlying.NIFTY,
            expiry=date(2026, 9, 22), strike=Decimal(24200), option_type=OptionType.CALL, lot_size=65,
            tick_size=Decimal("0.05"),
        )  # fmt: skip


def _exit_reasons(prices: list[str]) -> list[ExitReason | None]:
    """65 bought at 100.00, then the risk check at each price, a minute apart."""
    config = build_config(["NIFTY"], 0)
    market = _Market()
    state = _DayState(Decisions(config, config.fills), DayResult(DAY), market, DAY)
    fill = tracker.booked("e1", 65, Side.BUY, 65, Decimal(100))
    position = tracker.opened(
        entry_order_id="e1", security_id=SID, segment=ExchangeSegment.NSE_FNO, underlying=Underlying.NIFTY,
        net_quantity=65, average_price=Decimal(100), at=OPEN, correlation_id="e1",
        contract_realized=Decimal(0), fill=fill,
    )  # fmt: skip
    holding = state.holdings[SID] = _Holding(position)
    found = []
    for n, price in enumerate(prices, start=1):
        now = OPEN + timedelta(minutes=n)
        market.marks[SID] = (Decimal(price), now)
        state.risk_check(now)
        found.append(holding.order_type_of_exit)
    return found


def test_on_gross_pnl_a_thousand_rupees_up_arms_the_trail_and_the_giveback_exits() -> None:
    # 116.00: +₹1,040 gross (armed); 115.00: +₹975 ≤ 95 % of 1,040 → trailing exit
    assert _exit_reasons(["116.00", "115.00"]) == [None, ExitReason.TRAILING]


def test_on_net_pnl_the_charges_keep_the_trail_unarmed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Net of about ₹60 of charges, +₹1,040 gross is under the ₹1,000 lock: no trail, no exit."""
    monkeypatch.setenv("SARATHI_RISK_TRAIL_PNL_BASIS", "net")

    assert _exit_reasons(["116.00", "115.00"]) == [None, None]


def test_a_risk_check_on_every_tick_is_refused_not_silently_backtested_every_5_seconds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from sarathi.cli import __main__ as cli

    monkeypatch.setenv("SARATHI_RISK_EVALUATE_ON_TICK", "true")

    code = cli.main(["backtest", "--from", "2026-09-16", "--to", "2026-09-16", "--data-dir", str(tmp_path)])

    assert code == 2
    assert "SARATHI_RISK_EVALUATE_ON_TICK=true: risk's check on every tick is not modelled" in (
        capsys.readouterr().err
    )
