"""The operator API: bearer token on everything, audited actions, refusals, readable P&L views,
and no 5xx for any body or header a fuzzer sends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from sarathi.common.bus.streams import TRADING_STATE_KEY
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import ExitReason
from sarathi.common.web import protect
from sarathi.risk.api import build_router

from ..builders import NIFTY_CALL, position_opened
from .support import TOKEN, ListedNames, Rig, a_listed_nifty_call, risk_running

MUTATING = ["/pause", "/resume", "/flatten", "/kill"]
READING = ["/state", "/positions", "/pnl"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def api(**overrides: Any) -> AsyncIterator[tuple[Rig, httpx.AsyncClient]]:
    async with risk_running(**overrides) as rig:
        app = FastAPI()
        protect(app, SecretStr(TOKEN))
        app.include_router(build_router(lambda: rig.service, "ops-desk"))
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://risk") as client:
            yield rig, client


async def snapshot(rig: Rig) -> tuple[Any, ...]:
    entry = await rig.bus.kv_get(TRADING_STATE_KEY)
    return (
        rig.service.control.state,
        entry.revision if entry else None,
        len(rig.store.audits),
        len(rig.exits()),
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic dGVzdA=="}],
)
async def test_every_call_without_the_token_gets_401_and_changes_nothing(headers: dict[str, str]) -> None:
    async with api() as (rig, client):
        await rig.event(position_opened("sub-0001", when=rig.clock.now()))
        before = await snapshot(rig)
        for path in MUTATING:
            for body in (None, {"reason": "x"}, {"nonsense": 1}):
                reply = await client.post(path, headers=headers, json=body)
                assert reply.status_code == 401, (path, body)
                assert reply.headers["www-authenticate"] == "Bearer"
        for path in READING:
            assert (await client.get(path, headers=headers)).status_code == 401
        assert await snapshot(rig) == before


async def test_an_unset_token_closes_the_api() -> None:
    async with risk_running() as rig:
        app = FastAPI()
        protect(app, SecretStr(""))
        app.include_router(build_router(lambda: rig.service, "ops"))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://risk"
        ) as client:
            assert (await client.post("/kill", headers={"Authorization": "Bearer "})).status_code == 401
            assert (await client.get("/state", headers={"Authorization": "Bearer "})).status_code == 401


async def test_pause_resume_kill_and_flatten_are_audited_with_who_why_and_where() -> None:
    async with api() as (rig, client):
        await rig.event(position_opened("sub-0001", when=rig.clock.now()))
        paused = await client.post("/pause", headers=AUTH, json={"reason": "news at 11"})
        assert paused.json() == {
            "action": "pause",
            "state": "PAUSED",
            "previous_state": "ACTIVE",
            "exits": [],
            "exited": [],
        }
        state = (await client.get("/state", headers=AUTH)).json()
        assert (state["state"], state["reason"], state["actor"]) == ("PAUSED", "news at 11", "ops-desk")
        assert (await client.post("/resume", headers=AUTH)).json()["state"] == "ACTIVE"
        flat = (await client.post("/flatten", headers=AUTH, json={"reason": "done for the day"})).json()
        assert (flat["state"], flat["exits"]) == ("ACTIVE", ["sub-0001"])
        assert [c.reason for c in rig.exits()] == [ExitReason.FLATTEN]
        assert (await client.post("/kill", headers=AUTH)).json()["state"] == "HALTED"
        assert (await client.post("/pause", headers=AUTH)).status_code == 409  # pausing would loosen a halt
        actions = [(a.action, a.actor, a.remote_address) for a in rig.store.audits[1:]]
        assert actions == [
            ("pause", "ops-desk", "10.1.2.3"),
            ("resume", "ops-desk", "10.1.2.3"),
            ("flatten", "ops-desk", "10.1.2.3"),
            ("kill", "ops-desk", "10.1.2.3"),
        ]
        assert rig.store.audits[1].reason == "news at 11"
        assert rig.store.audits[4].new_state is not None
        assert rig.store.audits[4].new_state["state"] == "HALTED"
        assert len(rig.risk_events("TradingStateChanged")) == 3  # flatten changes no state


async def test_resume_is_refused_while_the_daily_loss_limit_is_breached() -> None:
    async with api(risk_daily_loss_limit_inr=Decimal(500)) as (rig, client):
        await rig.event(position_opened("sub-0001", when=rig.clock.now(), net=130, average="100"))
        await rig.advance(5, price="90")
        assert rig.service.control.state is TradingState.HALTED
        reply = await client.post("/resume", headers=AUTH, json={"reason": "let me trade"})
        assert reply.status_code == 409
        assert "daily loss" in reply.json()["detail"]
        assert rig.service.control.state is TradingState.HALTED


async def test_positions_and_pnl_report_gross_net_hwm_and_tick_age() -> None:
    async with api() as (rig, client):
        await rig.event(position_opened("sub-0001", when=rig.clock.now(), net=80, average="100"))
        await rig.advance(5, price="120")
        await rig.advance(2)
        (row,) = (await client.get("/positions", headers=AUTH)).json()
        assert (row["ltp"], row["pnl_gross"], row["hwm"], row["trail_armed"]) == (
            "120",
            "1600.00",
            "1600.00",
            True,
        )
        assert Decimal(row["pnl_net"]) < Decimal(row["pnl_gross"])
        assert row["last_tick_age_seconds"] == 2.0
        assert row["stale"] is False
        day = (await client.get("/pnl", headers=AUTH)).json()
        assert (day["gross"], day["unrealized_gross"], day["open_positions"]) == ("1600.00", "1600.00", 1)
        assert Decimal(day["net"]) == Decimal(day["gross"]) - Decimal(day["charges"])


async def test_positions_and_flatten_name_the_contract_with_its_quantity_and_keep_the_ids() -> None:
    names = ListedNames({ContractKey(ExchangeSegment.NSE_FNO, NIFTY_CALL): a_listed_nifty_call()})
    async with api(names=names) as (rig, client):
        await rig.event(position_opened("sub-0001", when=rig.clock.now(), net=130, average="100"))
        await rig.event(position_opened("sub-0002", when=rig.clock.now(), net=65, security_id="99999"))

        rows = (await client.get("/positions", headers=AUTH)).json()
        flat = (await client.post("/flatten", headers=AUTH, json={"reason": "done"})).json()

    assert [(r["contract"], r["lots"], r["security_id"]) for r in rows] == [
        ("NIFTY 24200 CE 22-Sep", 2, NIFTY_CALL),
        ("NIFTY (security id 99999)", None, "99999"),  # not in the Derivative table
    ]
    assert flat["exits"] == ["sub-0001", "sub-0002"]
    assert [(e["contract"], e["quantity"], e["lots"]) for e in flat["exited"]] == [
        ("NIFTY 24200 CE 22-Sep", 130, 2),
        ("NIFTY (security id 99999)", 65, None),
    ]


async def test_risk_serves_no_progress_route_for_a_driver_to_poll() -> None:
    # The held day's clock protocol (`sarathi.common.clock_hold`) replaced `/progress`.
    async with api() as (_, client):
        assert (await client.get("/progress", headers=AUTH)).status_code == 404


async def test_a_body_with_a_non_finite_number_gets_422_not_500() -> None:
    async with api() as (rig, client):
        headers = {**AUTH, "Content-Type": "application/json"}
        for content in (b"[Infinity]", b'{"reason": NaN}'):
            reply = await client.post("/pause", headers=headers, content=content)
            assert reply.status_code == 422, reply.text
        assert rig.service.control.state is TradingState.ACTIVE


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=600),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(MUTATING + READING + ["/nope"]),
    body=json_values,
    raw=st.binary(max_size=64),
    with_token=st.booleans(),
    use_raw=st.booleans(),
)
async def test_fuzzed_requests_never_get_a_5xx(
    path: str, body: Any, raw: bytes, with_token: bool, use_raw: bool
) -> None:
    async with api() as (_, client):
        headers = {**(AUTH if with_token else {}), "Content-Type": "application/json"}
        content = raw if use_raw else json.dumps(body).encode()
        method = "GET" if path in READING else "POST"
        reply = await client.request(method, path, headers=headers, content=content)
        assert reply.status_code < 500, reply.text
