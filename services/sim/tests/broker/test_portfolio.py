"""Positions and P&L, funds, exit-all, the kill switch and the P&L exit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sarathi.sim.broker.controls import PnlExitRule
from sarathi.sim.broker.models import BrokerError, OrderType


def test_a_long_position_reports_dhan_fields_and_mark_to_market(kit: Any) -> None:
    kit.buy(quantity=130)
    kit.tick("100", ask="100.05")
    kit.tick("110", bid="109.95", ask="110.05")
    position = kit.position()
    assert position["positionType"] == "LONG"
    assert (position["buyQty"], position["sellQty"], position["netQty"]) == (130, 0, 130)
    assert position["buyAvg"] == position["costPrice"] == 100.05
    assert position["unrealizedProfit"] == pytest.approx((110 - 100.05) * 130)
    assert position["dayBuyValue"] == pytest.approx(100.05 * 130)
    assert (position["drvOptionType"], position["drvStrikePrice"]) == ("CALL", 24000.0)


def test_realized_profit_books_only_the_closed_quantity(kit: Any) -> None:
    kit.buy(quantity=130)
    kit.tick("100", ask="100")
    kit.sell(quantity=65)
    kit.tick("104", bid="104")
    position = kit.position()
    assert position["realizedProfit"] == pytest.approx(4 * 65)
    assert position["unrealizedProfit"] == pytest.approx(4 * 65)
    assert position["costPrice"] == 100.0
    kit.sell(quantity=65)
    kit.tick("98", bid="98")
    closed = kit.position()
    assert (closed["positionType"], closed["netQty"], closed["unrealizedProfit"]) == ("CLOSED", 0, 0.0)
    assert closed["realizedProfit"] == pytest.approx(4 * 65 - 2 * 65)


def test_funds_show_the_misspelt_available_balance_and_money_in_use(kit: Any) -> None:
    before = kit.broker.fund_limit()["availabelBalance"]
    kit.buy()
    kit.tick("100", ask="100")
    funds = kit.broker.fund_limit()
    assert funds["utilizedAmount"] == pytest.approx(6500)
    assert funds["availabelBalance"] == pytest.approx(before - 6500)


def test_exit_all_cancels_open_orders_and_legs_then_flattens_without_going_short(kit: Any) -> None:
    so_id = kit.super_buy()
    kit.buy(quantity=65)
    kit.tick("99.95", bid="99.90", ask="100.00")
    resting = kit.sell(order_type=OrderType.LIMIT, price="150")
    kit.tick("100")
    assert kit.net_qty() == 130
    assert kit.broker.exit_all()["status"] == "SUCCESS"
    assert kit.order(resting)["orderStatus"] == "CANCELLED"
    assert {leg["orderStatus"] for leg in kit.super_order(so_id)["legDetails"]} == {"CANCELLED"}
    kit.broker.exit_all()  # a second call before the exits fill must not double the exit
    kit.tick("80", bid="79.95")
    kit.tick("70", bid="69.95")
    assert kit.net_qty() == 0
    assert all(p["netQty"] == 0 for p in kit.broker.positions())


def test_exit_all_with_nothing_open_says_so(kit: Any) -> None:
    assert kit.broker.exit_all()["status"] == "ERROR"


def test_the_kill_switch_needs_a_flat_book_and_then_refuses_orders(kit: Any) -> None:
    kit.buy()
    kit.tick("100")
    with pytest.raises(BrokerError):
        kit.broker.set_kill_switch(True)
    kit.broker.exit_all()
    kit.tick("100")
    reply = kit.broker.set_kill_switch(True)
    assert reply["killSwitchStatus"] == "Kill Switch has been successfully activated"
    assert kit.broker.kill_switch_status()["killSwitchStatus"] == "ACTIVATE"
    with pytest.raises(BrokerError, match="Kill Switch"):
        kit.buy()
    kit.broker.set_kill_switch(False)
    kit.buy()


def test_the_pnl_exit_flattens_on_a_loss_breach_and_activates_the_kill_switch(kit: Any) -> None:
    kit.buy()
    kit.tick("100", ask="100")
    kit.broker.set_pnl_exit(PnlExitRule(Decimal(5000), Decimal(500), ("INTRADAY",), enable_kill_switch=True))
    assert kit.broker.pnl_exit_status()["pnlExitStatus"] == "ACTIVE"
    kit.tick("93", bid="92.95")  # -455: not yet
    assert kit.net_qty() == 65
    kit.tick("92", bid="91.95")  # -520: breached → exit orders placed
    assert kit.broker.kill_switch_status()["killSwitchStatus"] == "ACTIVATE"
    kit.tick("92", bid="91.95")
    assert kit.net_qty() == 0
    assert kit.broker.pnl_exit_status()["pnlExitStatus"] == "DISABLED"


def test_a_profit_value_at_or_below_the_days_profit_exits_everything_and_activates_the_kill_switch(
    kit: Any,
) -> None:
    """Dhan: a profitValue already below the current profit fires at once; 0 is no "off"."""
    kit.buy()
    kit.tick("100", ask="100")
    kit.tick("110", bid="109.95")  # ≈ +650 today
    kit.broker.set_pnl_exit(PnlExitRule(Decimal(0), Decimal(5000), ("INTRADAY",), enable_kill_switch=True))
    kit.tick("110", bid="109.95")
    assert kit.broker.kill_switch_status()["killSwitchStatus"] == "ACTIVATE"
    kit.tick("110", bid="109.95")
    assert kit.net_qty() == 0
    assert kit.broker.pnl_exit_status()["pnlExitStatus"] == "DISABLED"


def test_a_profit_value_above_the_days_profit_leaves_the_positions_alone(kit: Any) -> None:
    kit.buy()
    kit.tick("100", ask="100")
    kit.tick("110", bid="109.95")
    kit.broker.set_pnl_exit(PnlExitRule(Decimal(1300), Decimal(5000), ("INTRADAY",), enable_kill_switch=True))
    kit.tick("110", bid="109.95")
    kit.tick("110", bid="109.95")
    assert kit.net_qty() == 65
    assert kit.broker.pnl_exit_status()["pnlExitStatus"] == "ACTIVE"
    kit.tick("121", bid="120.95")  # ≈ +1365: reached
    kit.tick("121", bid="120.95")
    assert kit.net_qty() == 0


def test_a_pnl_exit_for_other_products_leaves_intraday_alone(kit: Any) -> None:
    kit.buy()
    kit.tick("100", ask="100")
    kit.broker.set_pnl_exit(PnlExitRule(Decimal(0), Decimal(1), ("DELIVERY",)))
    kit.tick("50", bid="49.95")
    kit.tick("50", bid="49.95")
    assert kit.net_qty() == 65
    assert kit.broker.stop_pnl_exit()["pnlExitStatus"] == "DISABLED"


def test_the_snapshot_has_every_book(kit: Any) -> None:
    kit.super_buy()
    kit.tick("99.95", bid="99.90", ask="100.00")
    snapshot = kit.broker.snapshot()
    assert set(snapshot) == {"orders", "superOrders", "trades", "positions", "funds", "killSwitch", "pnlExit"}
    assert len(snapshot["orders"]) == 3
    assert len(snapshot["trades"]) == 1
