"""Plain orders of the paper broker: lifecycle, matching, validation, modification, cancellation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sarathi.sim.broker.config import BrokerConfig, StatusCase
from sarathi.sim.broker.models import BrokerError, ModifyOrder, OrderType, Side, Validity


def test_a_new_order_is_in_transit_until_the_next_step(kit: Any) -> None:
    order_id = kit.buy(order_type=OrderType.LIMIT, price="99")
    assert kit.order(order_id)["orderStatus"] == "TRANSIT"
    kit.tick("100", bid="99.95", ask="100.05")
    assert kit.order(order_id)["orderStatus"] == "PENDING"


def test_a_market_buy_fills_at_the_ask_on_the_next_step_with_a_protected_limit(kit: Any) -> None:
    order_id = kit.buy()
    kit.tick("100", bid="99.90", ask="100.10")
    order = kit.order(order_id)
    assert order["orderStatus"] == "TRADED"
    assert order["orderType"] == "LIMIT"  # MPP: converted to a limit 10 % above the LTP (UNVERIFIED band)
    assert order["price"] == 110.0
    assert order["averageTradedPrice"] == 100.10
    assert order["filledQty"] == 65


def test_a_market_sell_fills_at_the_bid(kit: Any) -> None:
    kit.buy()
    kit.tick("100")
    order_id = kit.sell()
    kit.tick("104", bid="103.95", ask="104.05")
    assert kit.order(order_id)["averageTradedPrice"] == 103.95


def test_a_resting_limit_fills_only_when_the_ask_reaches_it(kit: Any) -> None:
    order_id = kit.buy(order_type=OrderType.LIMIT, price="98")
    kit.tick("100", bid="99.95", ask="100.05")
    kit.tick("98.50", bid="98.45", ask="98.55")
    assert kit.order(order_id)["orderStatus"] == "PENDING"
    kit.tick("97.90", bid="97.85", ask="97.95")
    order = kit.order(order_id)
    assert order["orderStatus"] == "TRADED"
    assert order["averageTradedPrice"] == 97.95  # at the touch, better than the limit


def test_slippage_in_ticks_is_applied_and_capped_by_the_limit(build: Any) -> None:
    kit = build.kit(config=BrokerConfig(slippage_ticks=2))
    market_id = kit.buy()
    limit_id = kit.buy(order_type=OrderType.LIMIT, price="100.10")
    kit.tick("100", bid="99.95", ask="100.05")
    assert kit.order(market_id)["averageTradedPrice"] == 100.15
    assert kit.order(limit_id)["averageTradedPrice"] == 100.10


def test_touch_quantity_limits_a_fill_to_whole_lots_and_leaves_it_part_traded(build: Any) -> None:
    kit = build.kit(config=BrokerConfig(respect_touch_quantity=True))
    order_id = kit.buy(quantity=195)
    kit.tick("100", ask_qty=140)
    order = kit.order(order_id)
    assert (order["orderStatus"], order["filledQty"], order["remainingQuantity"]) == ("PART_TRADED", 130, 65)
    kit.tick("100", ask_qty=1000)
    assert kit.order(order_id)["orderStatus"] == "TRADED"
    assert len(kit.broker.trade_book(order_id)) == 2


def test_cancel_in_transit_is_refused_and_later_accepted(kit: Any) -> None:
    order_id = kit.buy(order_type=OrderType.LIMIT, price="90")
    with pytest.raises(BrokerError) as refused:
        kit.broker.cancel_order(order_id)
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        400,
        "DH-906",
        "Order is in Transit state",
    )
    kit.tick("100")
    assert kit.broker.cancel_order(order_id) == {"orderId": order_id, "orderStatus": "CANCELLED"}
    with pytest.raises(BrokerError, match="Nothing to Cancel"):
        kit.broker.cancel_order(order_id)


def test_modify_is_accepted_in_transit_and_capped_at_25(kit: Any) -> None:
    order_id = kit.buy(order_type=OrderType.LIMIT, price="90")
    kit.broker.modify_order(order_id, ModifyOrder(price=Decimal("91")))
    assert kit.order(order_id)["price"] == 91.0
    for step in range(24):
        kit.broker.modify_order(order_id, ModifyOrder(price=Decimal("90") - Decimal(step) / 20))
    with pytest.raises(BrokerError) as refused:
        kit.broker.modify_order(order_id, ModifyOrder(price=Decimal("80")))
    assert refused.value.code == "DH-906"


def test_modifying_a_limit_into_a_market_order_fills_it(kit: Any) -> None:
    order_id = kit.buy(order_type=OrderType.LIMIT, price="90")
    kit.tick("100")
    kit.broker.modify_order(order_id, ModifyOrder(order_type=OrderType.MARKET, price=Decimal(0)))
    kit.tick("100", ask="100.05")
    assert kit.order(order_id)["orderStatus"] == "TRADED"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"security_id": "999999"}, "Invalid SecurityId"),
        ({"segment": "BSE_FNO"}, "not listed"),
        ({"security_id": "13", "segment": "IDX_I"}, "index"),
        ({"quantity": 64}, "multiple of the lot size"),
        ({"quantity": 1820}, "freeze"),
        ({"price": "100.03"}, "tick"),
        ({"price": "0"}, "greater than 0"),
        ({"correlation_id": "x" * 26}, "correlationId"),
        ({"correlation_id": "bad/char"}, "correlationId"),
    ],
)
def test_invalid_orders_are_refused_with_dh_905(build: Any, overrides: dict[str, Any], fragment: str) -> None:
    kit = build.kit()
    values: dict[str, Any] = {"quantity": 65, "price": "100"} | overrides
    quantity, price = values.pop("quantity"), values.pop("price")
    with pytest.raises(BrokerError, match=fragment) as refused:
        kit.broker.place_order(build.order(Side.BUY, quantity, OrderType.LIMIT, price, **values))
    assert (refused.value.status, refused.value.code) == (400, "DH-905")


def test_slicing_splits_a_frozen_quantity_into_whole_lots_below_the_freeze(build: Any) -> None:
    kit = build.kit()
    replies = kit.broker.place_slice_order(build.order(Side.BUY, 1820, OrderType.LIMIT, "100"))
    quantities = [kit.order(r["orderId"])["quantity"] for r in replies]
    assert quantities == [1755, 65]
    assert all(r["orderStatus"] == "TRANSIT" for r in replies)


def test_a_stop_loss_market_sell_triggers_on_the_ltp(kit: Any) -> None:
    kit.buy()
    kit.tick("100")
    stop_id = kit.sell(order_type=OrderType.STOP_LOSS_MARKET, trigger_price=Decimal("95"))
    kit.tick("96", bid="95.95", ask="96.05")
    assert kit.order(stop_id)["orderStatus"] == "PENDING"
    kit.tick("94.90", bid="94.85", ask="94.95")
    order = kit.order(stop_id)
    assert (order["orderStatus"], order["averageTradedPrice"]) == ("TRADED", 94.85)
    assert kit.net_qty() == 0


def test_an_ioc_order_that_cannot_fill_is_cancelled(kit: Any) -> None:
    order_id = kit.buy(order_type=OrderType.LIMIT, price="90", validity=Validity.IOC)
    kit.tick("100")
    assert kit.order(order_id)["orderStatus"] == "CANCELLED"


def test_a_market_order_with_no_price_at_all_is_rejected(kit: Any) -> None:
    order_id = kit.buy()
    kit.tick("0", bid="0", ask="0")
    order = kit.order(order_id)
    assert order["orderStatus"] == "REJECTED"
    assert order["omsErrorDescription"].startswith("RMS")


def test_a_buy_beyond_the_available_balance_is_rejected_by_rms(build: Any) -> None:
    kit = build.kit(config=BrokerConfig(sod_limit=Decimal(10_000)))
    order_id = kit.buy(quantity=650, order_type=OrderType.LIMIT, price="100")
    kit.tick("100")
    assert kit.order(order_id)["orderStatus"] == "REJECTED"


def test_lookup_by_correlation_id_skips_orders_in_transit(kit: Any) -> None:
    kit.buy(order_type=OrderType.LIMIT, price="90", correlation_id="tag-1")
    assert kit.broker.order_by_correlation_id("tag-1") is None
    kit.tick("100")
    found = kit.broker.order_by_correlation_id("tag-1")
    assert found is not None
    assert found["correlationId"] == "tag-1"
    assert kit.broker.order_by_id("nope") is None


def test_alerts_follow_every_state_change_with_dhan_fields(kit: Any) -> None:
    order_id = kit.buy(correlation_id="tag-7")
    kit.tick("100", bid="99.95", ask="100.05")
    statuses = [a["Status"] for a in kit.alerts if a["OrderNo"] == order_id]
    assert statuses == ["Transit", "Pending", "Traded"]
    last = kit.alerts[-1]
    assert last["TxnType"] == "B"
    assert last["Product"] == "I"
    assert last["OrderType"] == "LMT"
    assert (last["Quantity"], last["TradedQty"], last["RemainingQuantity"]) == (65, 65, 0)
    assert last["TradedPrice"] == last["AvgTradedPrice"] == 100.05
    assert (last["Instrument"], last["OptType"], last["LotSize"]) == ("OPTIDX", "CE", 65)
    assert last["CorrelationId"] == "tag-7"
    assert last["LastUpdatedTime"] == "2026-09-15 09:20:01"
    assert last["Exchange"] == "NSE"
    assert last["Segment"] == "D"


def test_alert_status_can_be_upper_case(build: Any) -> None:
    kit = build.kit(config=BrokerConfig(status_case=StatusCase.UPPER))
    kit.buy()
    assert kit.alerts[-1]["Status"] == "TRANSIT"


def test_a_failing_listener_does_not_stop_the_broker(kit: Any) -> None:
    def broken(_: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    kit.broker.add_alert_listener(broken)
    order_id = kit.buy()
    kit.tick("100")
    assert kit.order(order_id)["orderStatus"] == "TRADED"
