"""The typed trading adapter's own guards: the modification cap, the SDK's local refusals, and
replies that are not the documented shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from sarathi.common.dhan.errors import DhanRejectedError, DhanUnknownOutcomeError
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.dhan.trading import DhanTrading


class RecordingRest(DhanRest):
    """A DhanRest whose calls never leave the process (no server involved)."""

    def __init__(self, reply: Any = None) -> None:
        super().__init__(client_id="1", access_token=SecretStr("t"), base_url="http://127.0.0.1:9")
        self.calls = 0
        self.reply = reply if reply is not None else {"orderId": "59", "orderStatus": "PENDING"}

    async def call(self, category: Category, call: Any, *, changes_state: bool, key: Any = None) -> Any:
        self.calls += 1
        return self.reply


async def test_the_twenty_sixth_modification_of_a_leg_is_refused_without_a_call() -> None:
    rest = RecordingRest()
    trading = DhanTrading(rest)
    for _ in range(25):
        await trading.modify_super_order("59", "STOP_LOSS_LEG", stop_loss_price=Decimal("95"))

    with pytest.raises(DhanRejectedError) as refused:
        await trading.modify_super_order("59", "STOP_LOSS_LEG", stop_loss_price=Decimal("95"))

    assert refused.value.code == "MODIFY_LIMIT"
    assert rest.calls == 25
    await trading.modify_super_order("59", "TARGET_LEG", target_price=Decimal("140"))  # its own count


async def test_arguments_the_sdk_refuses_locally_are_a_rejection_not_an_unknown_outcome() -> None:
    trading = DhanTrading(DhanRest(client_id="1", access_token=SecretStr("t"), base_url="http://127.0.0.1:9"))

    with pytest.raises(DhanRejectedError) as refused:
        await trading.place_super_order(
            correlation_id="sub-1",
            security_id="47317",
            exchange_segment="NSE_FNO",
            transaction_type="BUY",
            quantity=65,
            order_type="LIMIT",
            product_type="INTRADAY",
            price=Decimal(100),
            target_price=Decimal(90),  # a buy's target must be above the price
            stop_loss_price=Decimal(80),
            trailing_jump=Decimal(0),
        )

    assert refused.value.code == "SDK"


@pytest.mark.parametrize("body", ["", {}])
async def test_a_cancel_answered_with_no_body_is_a_success_for_the_order_asked_about(body: Any) -> None:
    # One page of Dhan's docs: super-order cancel → 202 with no body; the SDK then hands us "".
    trading = DhanTrading(RecordingRest(reply=body))

    leg = await trading.cancel_super_order("59", "TARGET_LEG")
    order = await trading.cancel_order("60")

    assert (leg.order_id, leg.order_status) == ("59", "")
    assert order.order_id == "60"


async def test_an_unreadable_2xx_reply_to_a_placement_is_an_unknown_outcome() -> None:
    trading = DhanTrading(RecordingRest(reply={"message": "accepted"}))

    with pytest.raises(DhanUnknownOutcomeError):
        await trading.place_market_order(
            correlation_id="xTR-1",
            security_id="47317",
            exchange_segment="NSE_FNO",
            transaction_type="SELL",
            quantity=65,
            product_type="INTRADAY",
        )
