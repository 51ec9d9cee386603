"""Our Dhan REST adapter (`sarathi.common.dhan.rest`) against the sim over real HTTP.

The adapter runs the official client off the event loop with its own timeout and rate limits
and turns Dhan's replies into typed errors; here each error kind is produced by the sim's
faults, and a burst is shown to queue on our side instead of meeting Dhan's rate limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sarathi.common.dhan.errors import (
    DhanAuthError,
    DhanIpRefusedError,
    DhanRejectedError,
    DhanUnknownOutcomeError,
)
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.dhan.trading import DhanTrading
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.settings import SimSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim


@pytest.fixture
def sim() -> Iterator[ServedSim]:
    pool = SimPool()
    try:
        yield pool.start(real=True)
    finally:
        pool.close()


def an_adapter(sim: ServedSim, *, token: str = TOKEN, timeout_seconds: float = 5.0) -> DhanRest:
    return DhanRest(
        client_id=CLIENT_ID,
        access_token=SecretStr(token),
        base_url=f"{sim.http_url}/v2",
        timeout_seconds=timeout_seconds,
    )


def a_nifty_call(sim: ServedSim) -> SimInstrument:
    universe = runtime_of(sim).universe
    options = [o for o in universe.options(Underlying.NIFTY) if o.option_type is OptionType.CALL]
    return min(options, key=lambda o: (o.expiry, abs((o.strike or Decimal(0)) - Decimal(24000))))


def place_super(contract: SimInstrument, tag: str) -> Any:
    def call(sdk: Any) -> Any:
        return sdk.place_super_order(
            contract.security_id, "NSE_FNO", "BUY", contract.lot_size, "MARKET", "INTRADAY", 10.0,
            targetPrice=5000.0, stopLossPrice=5.0, trailingJump=0.0, tag=tag,
        )  # fmt: skip

    return call


def fault(sim: ServedSim, body: dict[str, Any]) -> None:
    httpx.post(f"{sim.http_url}/sim/faults", json=body, timeout=5).raise_for_status()


def super_orders_with_tag(sim: ServedSim, tag: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{sim.http_url}/v2/super/orders", headers={"access-token": TOKEN}, timeout=5)
    return [o for o in reply.json() if o.get("correlationId") == tag]


def sim_state(sim: ServedSim) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(f"{sim.http_url}/sim/state", timeout=5).json()
    return state


async def test_a_successful_order_call_returns_dhans_json_body(sim: ServedSim) -> None:
    body = await an_adapter(sim).call(
        Category.ORDERS, place_super(a_nifty_call(sim), "adapter-ok-1"), changes_state=True
    )
    assert set(body) >= {"orderId", "orderStatus"}


async def test_a_placement_whose_reply_never_comes_has_an_unknown_outcome_and_did_happen(
    sim: ServedSim,
) -> None:
    fault(sim, {"kind": "timeout_rest", "count": 1})
    adapter = an_adapter(sim, timeout_seconds=1.0)
    with pytest.raises(DhanUnknownOutcomeError):
        await adapter.call(
            Category.ORDERS, place_super(a_nifty_call(sim), "adapter-lost-1"), changes_state=True
        )
    assert len(super_orders_with_tag(sim, "adapter-lost-1")) == 1, "the order exists: only a lookup can tell"


async def test_a_broker_rejection_is_a_typed_rejection_with_dhans_code(sim: ServedSim) -> None:
    fault(
        sim, {"kind": "reject_orders", "count": 1, "error_code": "DH-906", "message": "RMS: margin shortfall"}
    )
    with pytest.raises(DhanRejectedError) as caught:
        await an_adapter(sim).call(
            Category.ORDERS, place_super(a_nifty_call(sim), "adapter-rej-1"), changes_state=True
        )
    assert caught.value.code == "DH-906"
    assert "margin" in caught.value.message


async def test_a_wrong_token_is_an_auth_error(sim: ServedSim) -> None:
    with pytest.raises(DhanAuthError):
        await an_adapter(sim, token="not-the-token").call(
            Category.NON_TRADING, lambda sdk: sdk.get_positions(), changes_state=False
        )


async def test_a_burst_of_placements_queues_on_our_side_and_meets_no_rate_limit(sim: ServedSim) -> None:
    adapter = an_adapter(sim)
    contract = a_nifty_call(sim)
    results = await asyncio.gather(
        *(
            adapter.call(Category.ORDERS, place_super(contract, f"burst-{n}"), changes_state=True)
            for n in range(15)
        ),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert len({r["orderId"] for r in results if isinstance(r, dict)}) == 15


async def test_modify_order_sends_no_empty_leg_name_so_dhan_accepts_it(sim: ServedSim) -> None:
    contract = a_nifty_call(sim)
    trading = DhanTrading(an_adapter(sim))
    placed = await trading.rest.call(
        Category.ORDERS,
        lambda sdk: sdk.place_order(
            contract.security_id, "NSE_FNO", "BUY", contract.lot_size, "LIMIT", "INTRADAY", 0.05, tag="mod-1"
        ),
        changes_state=True,
    )

    reply = await trading.modify_order(
        placed["orderId"], order_type="LIMIT", quantity=2 * contract.lot_size, price=Decimal("0.10")
    )

    assert reply.order_id == placed["orderId"]
    order = await trading.order_by_id(placed["orderId"])
    assert order is not None
    assert (order.quantity, order.price) == (2 * contract.lot_size, Decimal("0.1"))


@pytest.mark.parametrize(("refusal", "code"), [("dh911", "DH-911"), ("dh905", "DH-905")])
async def test_an_order_call_from_an_address_not_whitelisted_is_refused_for_ip(
    refusal: str, code: str
) -> None:
    pool = SimPool()
    try:
        sim = pool.start(real=True, sim_static_ips="203.0.113.7", sim_static_ip_refusal=refusal)
        adapter = an_adapter(sim)
        contract = a_nifty_call(sim)

        with pytest.raises(DhanIpRefusedError) as refused:
            await adapter.call(Category.ORDERS, place_super(contract, "ip-1"), changes_state=True)
        with pytest.raises(DhanIpRefusedError):
            await DhanTrading(adapter).cancel_order("404404")
        positions = await adapter.call(
            Category.NON_TRADING, lambda sdk: sdk.get_positions(), changes_state=False
        )

        assert (refused.value.code, refused.value.message) == (code, "Invalid IP")
        assert positions == []  # reads are not subject to the rule
        assert super_orders_with_tag(sim, "ip-1") == []
        assert sim_state(sim)["static_ip"] == {"enforced": True, "whitelist": ["203.0.113.7"], "refused": 2}
    finally:
        pool.close()


async def test_an_order_call_from_a_whitelisted_address_is_served() -> None:
    pool = SimPool()
    try:
        sim = pool.start(real=True, sim_static_ips="203.0.113.7, 127.0.0.1")
        body = await an_adapter(sim).call(
            Category.ORDERS, place_super(a_nifty_call(sim), "ip-ok-1"), changes_state=True
        )
        assert "orderId" in body
    finally:
        pool.close()


def test_a_whitelist_entry_that_is_not_an_address_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="SARATHI_SIM_STATIC_IPS"):
        SimSettings(sim_static_ips="127.0.0.1,my-laptop")
