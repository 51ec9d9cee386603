"""`DhanBroker` reports a call Dhan refused for the static IP before raising it (risk halts on it)."""

from __future__ import annotations

from typing import Any

import pytest

from sarathi.common.dhan.errors import DhanIpRefusedError, DhanRejectedError
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, Side
from sarathi.orders.adapters.broker import DhanBroker

CALL = ContractKey(ExchangeSegment.NSE_FNO, "47317")


class RefusingTrading:
    """Dhan's trading API answering every order call with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def place_market_order(self, **_: Any) -> Any:
        raise self.error

    async def cancel_order(self, order_id: str) -> Any:
        raise self.error

    async def cancel_super_order(self, order_id: str, leg: str) -> Any:
        raise self.error


def a_broker(error: Exception, seen: list[tuple[str, str, str | None]]) -> DhanBroker:
    async def on_refused(operation: str, target: str, exc: DhanIpRefusedError) -> None:
        seen.append((operation, target, exc.code))

    return DhanBroker(RefusingTrading(error), product_type="INTRADAY", on_refused=on_refused)  # type: ignore[arg-type]


async def test_a_sell_and_a_cancel_refused_for_ip_are_reported_then_raised_as_rejections() -> None:
    seen: list[tuple[str, str, str | None]] = []
    broker = a_broker(DhanIpRefusedError("Invalid IP", code="DH-911", http_status=400), seen)

    with pytest.raises(DhanRejectedError):
        await broker.place_market("xTR-sub-0001", CALL, Side.SELL, 65)
    with pytest.raises(DhanRejectedError):
        await broker.cancel("5926091512345", Leg.STOP_LOSS)

    assert seen == [("PLACE", "xTR-sub-0001", "DH-911"), ("CANCEL", "5926091512345", "DH-911")]


async def test_other_rejections_are_not_reported_as_refusals() -> None:
    seen: list[tuple[str, str, str | None]] = []
    broker = a_broker(DhanRejectedError("Nothing to Cancel", code="DH-906"), seen)

    with pytest.raises(DhanRejectedError):
        await broker.cancel("5926091512345", None)

    assert seen == []
