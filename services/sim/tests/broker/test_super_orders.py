"""Super orders: entry, one-cancels-other exit legs, step-wise trailing, per-leg modify and cancel."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sarathi.sim.broker.models import BrokerError, LegName, OrderType, PlaceSuperOrder, Side
from sarathi.sim.broker.port import BrokerActivity


def entered(kit: Any, **kw: Any) -> str:
    """A BUY super order whose entry (limit 100) has filled at 100.00."""
    order_id = kit.super_buy(**kw)
    kit.tick("99.95", bid="99.90", ask="100.00")
    assert kit.order(order_id)["orderStatus"] == "TRADED"
    return order_id


def test_the_stop_loss_fires_at_the_bid_once_the_ltp_reaches_the_stop_and_cancels_the_target(
    kit: Any,
) -> None:
    order_id = entered(kit, stop="90", target="120")
    kit.tick("90.05", bid="90.00", ask="90.10")
    assert kit.super_order(order_id)["orderStatus"] == "TRADED"
    kit.tick("89.95", bid="89.90", ask="90.00")
    parent = kit.super_order(order_id)
    stop, target = kit.leg(order_id, "STOP_LOSS_LEG"), kit.leg(order_id, "TARGET_LEG")
    assert parent["orderStatus"] == "CLOSED"
    assert (stop["orderStatus"], stop["triggeredQuantity"]) == ("TRIGGERED", 65)
    assert target["orderStatus"] == "CANCELLED"
    position = kit.position()
    assert position["netQty"] == 0
    assert position["sellAvg"] == 89.90
    assert position["realizedProfit"] == pytest.approx(-656.5)  # (89.90 - 100.00) × 65


def test_the_target_fires_when_the_ltp_reaches_it_and_cancels_the_stop(kit: Any) -> None:
    order_id = entered(kit, stop="90", target="120")
    kit.tick("120", bid="119.95", ask="120.05")
    assert kit.leg(order_id, "TARGET_LEG")["orderStatus"] == "TRIGGERED"
    assert kit.leg(order_id, "STOP_LOSS_LEG")["orderStatus"] == "CANCELLED"
    assert kit.super_order(order_id)["orderStatus"] == "CLOSED"
    assert kit.position()["realizedProfit"] == pytest.approx(19.95 * 65)
    kit.tick("80", bid="79.95")
    assert kit.net_qty() == 0  # nothing fires a second time


def test_the_trailing_stop_moves_in_whole_jumps_and_never_back(kit: Any) -> None:
    order_id = entered(kit, stop="90", target="150", jump="2")
    seen = []
    for ltp in ("101.95", "102.00", "103.99", "107.10", "104.00", "106.00", "111.00"):
        kit.tick(ltp)
        seen.append(kit.leg(order_id, "STOP_LOSS_LEG")["price"])
    # reference 100.00: +2 at 102 → 92; 107.10 is 2 more jumps (to ref 106) → 96; 104 no move back;
    # 106 is no whole jump past 106; 111 is 2 more → 100.
    assert seen == [90.0, 92.0, 92.0, 96.0, 96.0, 96.0, 100.0]
    kit.tick("99.95", bid="99.90", ask="100.00")
    assert kit.leg(order_id, "STOP_LOSS_LEG")["orderStatus"] == "TRIGGERED"
    assert kit.position()["realizedProfit"] == pytest.approx(-0.10 * 65)


def test_legs_appear_in_the_order_book_with_their_own_ids_once_the_entry_fills(kit: Any) -> None:
    order_id = kit.super_buy()
    assert [o["legName"] for o in kit.broker.order_book()] == ["ENTRY_LEG"]
    kit.tick("99.95", bid="99.90", ask="100.00")
    book = {o["legName"]: o for o in kit.broker.order_book()}
    assert set(book) == {"ENTRY_LEG", "STOP_LOSS_LEG", "TARGET_LEG"}
    assert book["ENTRY_LEG"]["orderId"] == order_id
    assert len({o["orderId"] for o in book.values()}) == 3
    assert book["STOP_LOSS_LEG"]["orderType"] == "STOP_LOSS_MARKET"
    assert book["STOP_LOSS_LEG"]["triggerPrice"] == 90.0
    assert book["TARGET_LEG"]["price"] == 120.0
    assert all(o["transactionType"] == "SELL" for k, o in book.items() if k != "ENTRY_LEG")
    alerts = [a for a in kit.alerts if a["AlgoOrdNo"] == order_id]
    assert {a["LegNo"] for a in alerts} == {1, 2, 3}
    assert all(a["Remarks"] == "Super Order" for a in alerts)


def test_the_list_has_dhan_leg_details_with_the_misspelt_total_quantity(kit: Any) -> None:
    order_id = entered(kit, jump="1")
    parent = kit.super_order(order_id)
    assert parent["legName"] == "ENTRY_LEG"
    assert (parent["quantity"], parent["filledQty"], parent["remainingQuantity"]) == (65, 65, 0)
    assert parent["validity"] == "DAY"
    stop = kit.leg(order_id, "STOP_LOSS_LEG")
    assert stop == {
        "orderId": order_id,
        "legName": "STOP_LOSS_LEG",
        "transactionType": "SELL",
        "totalQuatity": 65,
        "remainingQuantity": 65,
        "triggeredQuantity": 0,
        "price": 90.0,
        "orderStatus": "PENDING",
        "trailingJump": 1.0,
    }
    assert kit.leg(order_id, "TARGET_LEG")["trailingJump"] == 0.0


def test_placement_checks_the_bracket_like_the_sdk(build: Any) -> None:
    kit = build.kit()
    for target, stop in (("95", "90"), ("120", "105"), ("0", "0"), ("120", "90.03")):
        with pytest.raises(BrokerError) as refused:
            kit.super_buy(target=target, stop=stop)
        assert refused.value.code == "DH-905"
    entry = build.order(Side.BUY, 65, OrderType.STOP_LOSS, "100", trigger_price=Decimal("99"))
    with pytest.raises(BrokerError):
        kit.broker.place_super_order(PlaceSuperOrder(entry, Decimal("120"), Decimal("90")))


def test_the_entry_leg_can_be_modified_only_while_pending(kit: Any) -> None:
    order_id = kit.super_buy(price="95", target="120", stop="90")
    with pytest.raises(BrokerError, match="PENDING"):
        kit.modify_leg(order_id, leg=LegName.ENTRY_LEG, price=Decimal("96"))
    kit.tick("100")
    kit.modify_leg(order_id, leg=LegName.ENTRY_LEG, price=Decimal("96"), target_price=Decimal("125"))
    assert kit.super_order(order_id)["price"] == 96.0
    assert kit.leg(order_id, "TARGET_LEG")["price"] == 125.0
    kit.tick("95.95", bid="95.90", ask="96.00")
    with pytest.raises(BrokerError):
        kit.modify_leg(order_id, leg=LegName.ENTRY_LEG, price=Decimal("97"))


def test_exit_legs_are_modified_after_the_entry_and_zero_jump_cancels_trailing(kit: Any) -> None:
    order_id = entered(kit, jump="2")
    kit.modify_leg(order_id, leg=LegName.TARGET_LEG, target_price=Decimal("130"))
    kit.modify_leg(
        order_id, leg=LegName.STOP_LOSS_LEG, stop_loss_price=Decimal("95"), trailing_jump=Decimal(0)
    )
    kit.tick("110")
    stop = kit.leg(order_id, "STOP_LOSS_LEG")
    assert (stop["price"], stop["trailingJump"]) == (95.0, 0.0)
    assert kit.leg(order_id, "TARGET_LEG")["price"] == 130.0
    with pytest.raises(BrokerError):
        kit.modify_leg(order_id, leg=LegName.TARGET_LEG, target_price=Decimal("94"))  # below the stop


def test_a_cancelled_leg_is_gone_for_good_and_the_other_still_works(kit: Any) -> None:
    order_id = entered(kit)
    assert kit.broker.cancel_super_order(order_id, LegName.TARGET_LEG)["orderStatus"] == "CANCELLED"
    with pytest.raises(BrokerError, match="Nothing to Cancel"):
        kit.broker.cancel_super_order(order_id, LegName.TARGET_LEG)
    with pytest.raises(BrokerError):
        kit.modify_leg(order_id, leg=LegName.TARGET_LEG, target_price=Decimal("130"))
    kit.tick("125")
    assert kit.net_qty() == 65
    kit.tick("89", bid="88.95")
    assert kit.net_qty() == 0


def test_cancelling_the_entry_leg_cancels_everything(kit: Any) -> None:
    order_id = kit.super_buy(price="95")
    with pytest.raises(BrokerError, match="Transit"):
        kit.broker.cancel_super_order(order_id, LegName.ENTRY_LEG)
    kit.tick("100")
    kit.broker.cancel_super_order(order_id, LegName.ENTRY_LEG)
    parent = kit.super_order(order_id)
    assert parent["orderStatus"] == "CANCELLED"
    assert {leg["orderStatus"] for leg in parent["legDetails"]} == {"CANCELLED"}
    with pytest.raises(BrokerError, match="Nothing to Cancel"):
        kit.broker.cancel_super_order(order_id, LegName.ENTRY_LEG)


def test_legs_never_sell_more_than_the_position_still_holds(kit: Any) -> None:
    order_id = entered(kit, quantity=130)
    kit.sell(quantity=65)  # the trader sells half by hand
    kit.tick("100")
    assert kit.net_qty() == 65
    kit.tick("89", bid="88.95")
    assert kit.leg(order_id, "STOP_LOSS_LEG")["triggeredQuantity"] == 65
    assert kit.net_qty() == 0


def test_a_partly_filled_entry_arms_legs_for_the_filled_quantity_and_a_fired_leg_cancels_the_rest(
    build: Any,
) -> None:
    from sarathi.sim.broker.config import BrokerConfig

    kit = build.kit(config=BrokerConfig(respect_touch_quantity=True))
    order_id = kit.super_buy(quantity=195)
    kit.tick("99.95", bid="99.90", ask="100.00", ask_qty=65)
    assert kit.super_order(order_id)["orderStatus"] == "PART_TRADED"
    assert kit.leg(order_id, "STOP_LOSS_LEG")["totalQuatity"] == 65
    kit.tick("89", bid="88.95", ask="120", ask_qty=0)
    assert kit.super_order(order_id)["orderStatus"] == "CLOSED"
    assert kit.order(order_id)["orderStatus"] == "CANCELLED"
    assert kit.net_qty() == 0


def test_activity_counts_open_orders_waiting_exit_legs_and_open_positions(kit: Any) -> None:
    assert kit.broker.activity() == BrokerActivity(working_orders=0, open_positions=0)
    order_id = kit.super_buy(price="100", stop="90", target="120")
    assert kit.broker.activity() == BrokerActivity(3, 0)  # the entry, and both legs waiting for its fill
    kit.tick("99.95", bid="99.90", ask="100.00")
    assert kit.order(order_id)["orderStatus"] == "TRADED"
    assert kit.broker.activity() == BrokerActivity(2, 1)  # the two armed legs, the long
    kit.tick("120", bid="119.95", ask="120.05")  # the target fires, the stop is cancelled
    assert kit.broker.activity() == BrokerActivity(0, 0)
