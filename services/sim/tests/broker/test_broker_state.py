"""The paper broker's state, dumped and restored into a fresh broker, answers exactly as before."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sarathi.sim.broker.controls import PnlExitRule
from sarathi.sim.broker.engine import PaperBroker
from sarathi.sim.broker.models import OrderType
from sarathi.sim.broker.state import BrokerStateError, dump_broker, restore_broker

from .conftest import Kit, an_order


def a_busy_day(kit: Kit) -> dict[str, str]:
    """A filled super order whose stop trailed, a resting limit, a filled market buy, a P&L rule."""
    trailing = kit.super_buy(price="100", target="130", stop="90", jump="1")
    kit.tick("99.95", bid="99.90", ask="100.00")  # the entry fills at 100.00
    kit.tick("102.50", bid="102.45", ask="102.55")  # the stop trails up by two jumps
    resting = kit.buy(65, OrderType.LIMIT, "80", correlation_id="rest-1")
    bought = kit.buy(130, correlation_id="mkt-1")
    kit.tick("102.50", bid="102.45", ask="102.55")
    kit.broker.set_pnl_exit(PnlExitRule(Decimal(5000), Decimal(20000), ("INTRADAY",)))
    return {"super": trailing, "resting": resting, "bought": bought}


def restored_copy(kit: Kit) -> PaperBroker:
    data = json.loads(json.dumps(dump_broker(kit.broker)))  # through JSON text, as on disk
    fresh = PaperBroker(kit.universe, kit.market, kit.clock.now, kit.config)
    restore_broker(fresh, data)
    return fresh


def test_a_restored_broker_answers_the_same_books_positions_funds_and_controls(kit: Kit) -> None:
    a_busy_day(kit)
    copy = restored_copy(kit)
    assert copy.snapshot() == kit.broker.snapshot()
    assert copy.order_by_correlation_id("mkt-1") == kit.broker.order_by_correlation_id("mkt-1")
    assert copy.activity() == kit.broker.activity()


def test_a_restored_broker_goes_on_with_the_same_fills_and_the_next_ids(kit: Kit) -> None:
    ids = a_busy_day(kit)
    copy = restored_copy(kit)
    at = kit.clock.advance()
    kit.market.set("47317", "79.95", bid="79.90", ask="80.00", at=at)
    kit.broker.step(at)
    copy.step(at)
    assert kit.order(ids["resting"])["orderStatus"] == "TRADED"
    assert copy.snapshot() == kit.broker.snapshot()  # the limit filled and the stop fired in both
    entry = an_order(quantity=65, order_type=OrderType.LIMIT, price="70")
    assert copy.place_order(entry)["orderId"] == kit.broker.place_order(entry)["orderId"]


def test_a_state_naming_an_unknown_instrument_is_refused_with_the_id(kit: Kit) -> None:
    a_busy_day(kit)
    data = json.loads(json.dumps(dump_broker(kit.broker)))
    data["orders"][0]["instrument"] = "99999999"
    fresh = PaperBroker(kit.universe, kit.market, kit.clock.now, kit.config)
    with pytest.raises(BrokerStateError, match="99999999"):
        restore_broker(fresh, data)


def test_a_truncated_state_is_refused_not_half_restored(kit: Kit) -> None:
    a_busy_day(kit)
    data = dump_broker(kit.broker)
    del data["trades"][0]["price"]
    fresh = PaperBroker(kit.universe, kit.market, kit.clock.now, kit.config)
    with pytest.raises(BrokerStateError, match="malformed"):
        restore_broker(fresh, data)
