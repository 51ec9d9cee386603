"""End to end through the real app and the OFFICIAL dhanhq 2.3.0 client: a BUY super order on an
option, its premium driven by `POST /sim/scenario` at a high clock speed.

(a) the stop-loss leg fires at the first step whose LTP is at or below the stop, at that step's
    bid; the target leg is cancelled; the position is flat;
(b) a rising premium moves the stop in whole `trailingJump` steps (seen in `legDetails`) and a
    later fall exits at the trailed stop;
(c) an exit — `DELETE /v2/positions`, or the exit protocol (cancel the legs, read the net
    quantity, sell exactly that) — never leaves a short position, whether the stop fired just
    before, just after or racing with it.

Every wait polls the sim's state under a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import partial
from typing import Any

import httpx
import pytest
from dhanhq import DhanContext, dhanhq

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.market.view import Quote
from sarathi.sim.testing.harness import CLIENT_ID, OPEN, TOKEN, SimPool, runtime_of, sim_pool, wait_for
from sarathi.sim.testing.server import ServedSim

SPEED = 60  # market seconds per wall second: a 3-second grid, 20 steps a wall second
START = OPEN + timedelta(minutes=5)  # a whole second, so every step (and fill time) is one too
LOT = 65


@pytest.fixture
def sims() -> Iterator[SimPool]:
    yield from sim_pool()


@dataclass
class Desk:
    """One sim, the official client, and the contract under test."""

    served: ServedSim
    dhan: Any
    http: httpx.Client
    contract: SimInstrument

    @property
    def step(self) -> timedelta:
        return timedelta(seconds=self.http.get("/sim/clock").json()["step_seconds"])

    def script(self, *points: tuple[float, float]) -> datetime:
        """Drive the premium from market-now along `points`; returns the script's start."""
        body = {"security_id": self.contract.security_id, "path": [list(p) for p in points]}
        answer = self.http.post("/sim/scenario", json=body)
        assert answer.status_code == 200, answer.text
        return datetime.fromisoformat(answer.json()["start"])

    def quote(self, at: datetime) -> Quote:
        runtime = runtime_of(self.served)
        return asyncio.run(self.served.call(runtime.market.quote, self.contract, at))

    def super_order(self, order_id: str) -> dict[str, Any]:
        listed = self.dhan.get_super_order_list()["data"]
        return next(so for so in listed if so["orderId"] == order_id)

    def is_closed(self, order_id: str) -> bool:
        return bool(self.super_order(order_id)["orderStatus"] == "CLOSED")

    def legs(self, order_id: str) -> dict[str, dict[str, Any]]:
        return {leg["legName"]: leg for leg in self.super_order(order_id)["legDetails"]}

    def enter(self, *, target: float, stop: float, jump: float = 0.0) -> dict[str, Any]:
        """Hold the premium at 100, BUY one lot with a super order, and wait for the entry fill."""
        self.script((0, 100))
        placed = self.dhan.place_super_order(
            self.contract.security_id, "NSE_FNO", "BUY", LOT, "MARKET", "INTRADAY", 100.0,
            targetPrice=target, stopLossPrice=stop, trailingJump=jump,
        )  # fmt: skip
        assert placed["status"] == "success", placed
        order_id = placed["data"]["orderId"]
        return wait_for(
            lambda: (so := self.super_order(order_id))["orderStatus"] == "TRADED" and so, "the entry"
        )

    def net_qty(self) -> int:
        positions = self.dhan.get_positions()["data"]
        return sum(p["netQty"] for p in positions if p["securityId"] == self.contract.security_id)

    def sells(self) -> list[dict[str, Any]]:
        trades = self.dhan.get_trade_book()["data"]
        return [t for t in trades if t["transactionType"] == "SELL"]

    def flat_and_idle(self) -> bool:
        state = self.http.get("/sim/state").json()["broker"]
        open_orders = [
            o for o in state["orders"] if o["orderStatus"] in ("TRANSIT", "PENDING", "PART_TRADED")
        ]
        nets = [p["netQty"] for p in state["positions"] if p["securityId"] == self.contract.security_id]
        return not open_orders and nets == [0]


@pytest.fixture
def desk(sims: SimPool) -> Iterator[Desk]:
    served = sims.start(real=True)
    runtime = runtime_of(served)
    expiry = runtime.universe.expiries(Underlying.NIFTY)[0]
    contract = next(
        i
        for i in runtime.universe.options(Underlying.NIFTY, expiry)
        if i.strike == 24000 and i.option_type is OptionType.CALL
    )
    dhan = dhanhq(DhanContext(CLIENT_ID, TOKEN))
    dhan.dhan_http.base_url = f"{served.http_url}/v2"
    with httpx.Client(base_url=served.http_url, timeout=15.0) as http:
        clock = http.post("/sim/clock", json={"start": START.isoformat(), "speed": SPEED})
        assert clock.status_code == 200, clock.text
        yield Desk(served, dhan, http, contract)


def the_exit_fill(desk: Desk) -> tuple[datetime, Decimal]:
    (sell,) = desk.sells()
    assert sell["tradedQuantity"] == LOT
    at = datetime.strptime(sell["exchangeTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
    return at, Decimal(str(sell["tradedPrice"]))


def assert_fired_at_first_touch(
    desk: Desk, fill: tuple[datetime, Decimal], stop: Decimal, since: datetime
) -> None:
    """The fill step's LTP is at or below `stop`, the step before (under the same script) above it,
    and the price is the fill step's bid (no slippage configured)."""
    at, price = fill
    quote = desk.quote(at)
    assert quote.ltp <= stop < desk.quote(at - desk.step).ltp
    assert at - desk.step >= since, "the step before the fill ran under the falling script"
    assert price == quote.bid


def test_the_stop_loss_fires_at_the_stop_cancels_the_target_and_leaves_the_position_flat(desk: Desk) -> None:
    entry = desk.enter(target=130.0, stop=90.0)
    fall = desk.script((0, 100), (30, 85))  # through 90 two thirds of the way down, then held at 85

    closed = wait_for(
        lambda: (so := desk.super_order(entry["orderId"]))["orderStatus"] == "CLOSED" and so, "exit"
    )
    legs = {leg["legName"]: leg for leg in closed["legDetails"]}
    assert (legs["STOP_LOSS_LEG"]["orderStatus"], legs["STOP_LOSS_LEG"]["triggeredQuantity"]) == (
        "TRIGGERED",
        LOT,
    )
    assert (legs["TARGET_LEG"]["orderStatus"], legs["TARGET_LEG"]["remainingQuantity"]) == ("CANCELLED", 0)
    assert_fired_at_first_touch(desk, the_exit_fill(desk), Decimal(90), fall)
    assert desk.net_qty() == 0
    assert wait_for(desk.flat_and_idle, "a flat book")


def test_a_rising_premium_trails_the_stop_in_whole_jumps_and_a_fall_exits_at_the_trailed_stop(
    desk: Desk,
) -> None:
    entry = desk.enter(target=150.0, stop=90.0, jump=5.0)
    average = Decimal(str(entry["averageTradedPrice"]))
    top = Decimal(113)
    trailed = Decimal(90) + 5 * ((top - average) / 5).to_integral_value(rounding=ROUND_FLOOR)
    assert trailed == 100  # entered near 100: two whole jumps of 5 by 113
    desk.script((0, 100), (30, float(top)))

    seen: list[Decimal] = []

    def stop_reached() -> bool:
        leg = desk.legs(entry["orderId"])["STOP_LOSS_LEG"]
        assert (leg["trailingJump"], leg["orderStatus"]) == (5.0, "PENDING")
        price = Decimal(str(leg["price"]))
        if not seen or seen[-1] != price:
            seen.append(price)
        return price == trailed

    wait_for(stop_reached, "the stop to trail to 100")
    assert seen == sorted(seen), seen  # never back
    assert all((p - 90) % 5 == 0 for p in seen), seen  # in whole jumps
    assert desk.net_qty() == LOT

    fall = desk.script((0, float(top)), (30, 95))
    wait_for(partial(desk.is_closed, entry["orderId"]), "the trailed stop to fire")
    fill = the_exit_fill(desk)
    assert_fired_at_first_touch(desk, fill, trailed, fall)
    assert fill[1] > 90  # out at the trailed stop, well above the original one
    assert desk.legs(entry["orderId"])["TARGET_LEG"]["orderStatus"] == "CANCELLED"
    assert wait_for(desk.flat_and_idle, "a flat book")


def exit_all(desk: Desk, order_id: str) -> None:
    del order_id
    desk.dhan.exit_all_positions()


def exit_by_protocol(desk: Desk, order_id: str) -> None:
    """ARCHITECTURE §6: cancel the super order's resting legs, read the net quantity, sell exactly it."""
    desk.dhan.cancel_super_order(order_id, "ENTRY_LEG")  # refused when a leg already closed it: fine
    net = desk.net_qty()
    if net > 0:
        placed = desk.dhan.place_order(
            desk.contract.security_id, "NSE_FNO", "SELL", net, "MARKET", "INTRADAY", 0
        )
        assert placed["status"] == "success", placed


@pytest.mark.parametrize("exit_now", [exit_all, exit_by_protocol], ids=["DELETE /positions", "protocol"])
def test_an_exit_never_leaves_a_short_position_whenever_the_stop_fires(desk: Desk, exit_now: Any) -> None:
    bought = 0
    timings = ("stop first", "exit first", "racing", "racing a step later")
    outcomes = []
    for timing in timings:
        entry = desk.enter(target=130.0, stop=90.0)
        bought += LOT
        if timing == "stop first":
            desk.script((0, 100), (3, 85))
            wait_for(partial(desk.is_closed, entry["orderId"]), "the stop")
            exit_now(desk, entry["orderId"])
        elif timing == "exit first":
            exit_now(desk, entry["orderId"])
            desk.script((0, 100), (3, 85))
        else:
            desk.script((0, 100), (3 if timing == "racing" else 6, 85))
            exit_now(desk, entry["orderId"])

        wait_for(desk.flat_and_idle, f"a flat book after '{timing}'")
        stop = desk.legs(entry["orderId"])["STOP_LOSS_LEG"]["orderStatus"]
        outcomes.append(stop)
        sold = sum(t["tradedQuantity"] for t in desk.sells())
        assert (desk.net_qty(), sold) == (0, bought), f"'{timing}': sold {sold} of {bought}"

    assert outcomes[:2] == ["TRIGGERED", "CANCELLED"]  # both orders of events were exercised
