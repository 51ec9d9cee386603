"""The /sim control API: clock, progress, scenario, faults, state — and never a 500 on bad input."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dhanhq import DhanContext, dhanhq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect

from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.testing.fakes import RecordingBroker, ToyMarket
from sarathi.sim.testing.harness import (
    CLIENT_ID,
    OPEN,
    TOKEN,
    SimPool,
    feed_url,
    login_frame,
    runtime_of,
    sim_pool,
)
from sarathi.sim.testing.server import ServedSim


@pytest.fixture(scope="module")
def shared() -> Iterator[ServedSim]:
    """One sim for the read-mostly and bad-input tests of this module."""
    for pool in sim_pool():
        yield pool.start()


def client(served: ServedSim) -> httpx.Client:
    return httpx.Client(base_url=served.http_url, timeout=10)


def test_setting_the_clock_restarts_market_time_at_the_given_start_and_speed(sims: SimPool) -> None:
    served = sims.start()
    with client(served) as http:
        answer = http.post("/sim/clock", json={"start": "2026-09-16T10:00:00+05:30", "speed": 120})
        assert answer.status_code == 200
        body = answer.json()
        assert (body["market_start"], body["speed"], body["paused"]) == (
            "2026-09-16T10:00:00+05:30",
            "120",
            False,
        )
        assert body["step_seconds"] == 6.0
        assert http.get("/sim/clock").json()["market_start"] == "2026-09-16T10:00:00+05:30"


def test_pause_and_resume_answer_with_the_clock(sims: SimPool) -> None:
    served = sims.start()
    with client(served) as http:
        paused = http.post("/sim/clock/pause").json()
        assert paused["paused"] is True
        assert http.get("/sim/clock").json()["now"] == paused["now"]
        assert http.post("/sim/clock/resume").json()["paused"] is False


def test_run_until_holds_market_time_at_the_barrier_and_refuses_one_in_the_past(sims: SimPool) -> None:
    served = sims.start()
    with client(served) as http:
        http.post("/sim/clock", json={"start": "2026-09-16T09:15:00+05:30", "speed": 2000})
        held = http.post("/sim/clock/run-until", json={"run_until": "2026-09-16T09:20:00+05:30"}).json()
        assert held["run_until"] == "2026-09-16T09:20:00+05:30"
        time.sleep(0.3)  # 600 market seconds at 2000x: past the barrier, were it not there
        assert http.get("/sim/clock").json()["now"] == "2026-09-16T09:20:00+05:30"
        refused = http.post("/sim/clock/run-until", json={"run_until": "2026-09-16T09:19:00+05:30"})
        assert (refused.status_code, refused.json()["error"]) == (422, "invalid_clock")
        assert http.post("/sim/clock/run-until", json={"run_until": None}).json()["run_until"] is None
        time.sleep(0.05)
        assert http.get("/sim/clock").json()["now"] > "2026-09-16T09:20:00+05:30"


def test_a_clock_can_be_set_paused(sims: SimPool) -> None:
    served = sims.start()
    with client(served) as http:
        body = http.post(
            "/sim/clock", json={"start": "2026-09-16T09:15:00+05:30", "speed": 1, "paused": True}
        ).json()
    assert body["paused"] is True
    assert body["next_step"] == "2026-09-16T09:15:00+05:30"


def test_progress_shows_the_clock_the_engine_and_what_the_broker_reports(sims: SimPool) -> None:
    served = sims.start()
    broker = runtime_of(served).broker
    assert isinstance(broker, RecordingBroker)
    broker.working_orders, broker.open_positions = 2, 1
    start = OPEN + timedelta(minutes=1)
    with client(served) as http:
        http.post("/sim/clock", json={"start": start.isoformat(), "speed": 1, "paused": True})
        progress = http.get("/sim/progress").json()
        clock = http.get("/sim/clock").json()
    assert progress == {
        "now": clock["now"],
        "run_until": None,
        "next_step": start.isoformat(),  # paused before the engine stepped the new origin
        "order_update_frames": 0,
        "feed_subscriptions": [],
        "working_orders": 2,
        "open_positions": 1,
    }


PROGRESS_TIMEOUT = 15.0


async def progress_when(
    http: httpx.AsyncClient, condition: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Poll `GET /sim/progress` until `condition` holds; fail after the deadline."""
    deadline = time.monotonic() + PROGRESS_TIMEOUT
    while True:
        progress: dict[str, Any] = (await http.get("/sim/progress")).json()
        if condition(progress):
            return progress
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {progress})")
        await asyncio.sleep(0.02)  # a poll interval under a deadline, not a timing assumption


async def run_to(http: httpx.AsyncClient, barrier: datetime) -> dict[str, Any]:
    """Let market time run to `barrier` and wait until the engine has stepped that instant."""
    answer = await http.post("/sim/clock/run-until", json={"run_until": barrier.isoformat()})
    assert answer.status_code == 200, answer.text
    return await progress_when(
        http, lambda p: datetime.fromisoformat(p["next_step"]) > barrier, f"the step at {barrier}"
    )


def a_nifty_call(served: ServedSim) -> SimInstrument:
    universe = runtime_of(served).universe
    calls = [o for o in universe.options(Underlying.NIFTY) if o.option_type is OptionType.CALL]
    return min(calls, key=lambda o: (o.expiry, abs((o.strike or Decimal(0)) - Decimal(24000))))


def feed_request(code: int, *instruments: tuple[str, str]) -> str:
    items = [{"ExchangeSegment": segment, "SecurityId": sid} for segment, sid in instruments]
    return json.dumps({"RequestCode": code, "InstrumentCount": len(items), "InstrumentList": items})


async def statuses(ws: ClientConnection, count: int) -> list[str]:
    frames = [json.loads(await asyncio.wait_for(ws.recv(), PROGRESS_TIMEOUT)) for _ in range(count)]
    return [frame["Data"]["Status"] for frame in frames]


async def test_progress_follows_the_engine_the_feed_the_order_updates_and_the_broker(sims: SimPool) -> None:
    served = sims.start(real=True, sim_start_paused=True)
    contract = a_nifty_call(served)
    dhan = dhanhq(DhanContext(CLIENT_ID, TOKEN))
    dhan.dhan_http.base_url = f"{served.http_url}/v2"
    start = OPEN + timedelta(minutes=5)
    async with httpx.AsyncClient(base_url=served.http_url, timeout=10) as http:
        clock = await http.post("/sim/clock", json={"start": start.isoformat(), "speed": 60, "paused": True})
        step = timedelta(seconds=clock.json()["step_seconds"])
        assert (await http.post("/sim/clock/resume")).status_code == 200

        # the engine: held at T, it has stepped T and waits for the next grid instant
        held_at = start + 10 * step
        progress = await run_to(http, held_at)
        assert (progress["now"], progress["run_until"], progress["next_step"]) == (
            held_at.isoformat(),
            held_at.isoformat(),
            (held_at + step).isoformat(),
        )
        assert (progress["working_orders"], progress["open_positions"], progress["order_update_frames"]) == (
            0,
            0,
            0,
        )

        # the feed: the union of every socket's subscriptions, sorted, once each
        async with (
            connect(feed_url(served)) as first,
            connect(feed_url(served)) as second,
            connect(served.order_update_url) as updates,
        ):
            await first.send(feed_request(15, ("NSE_FNO", contract.security_id), ("IDX_I", "13")))
            await second.send(feed_request(17, ("NSE_FNO", contract.security_id)))
            expected = [
                {"segment": "IDX_I", "security_id": "13"},
                {"segment": "NSE_FNO", "security_id": contract.security_id},
            ]
            progress = await progress_when(
                http, lambda p: p["feed_subscriptions"] == expected, "both subscriptions"
            )
            await second.send(feed_request(16, ("NSE_FNO", contract.security_id)))
            await first.send(feed_request(16, ("IDX_I", "13")))
            await progress_when(
                http, lambda p: p["feed_subscriptions"] == expected[1:], "the index unsubscribed"
            )  # and the contract still listed: the first socket holds it

            # the broker and the order-update frames: a market buy waits for the next step
            await updates.send(login_frame())
            await served.run(runtime_of(served).order_updates.wait_for_connections(1), PROGRESS_TIMEOUT)
            placed = await asyncio.to_thread(
                dhan.place_order,
                contract.security_id, "NSE_FNO", "BUY", contract.lot_size, "MARKET", "INTRADAY", 0,
            )  # fmt: skip
            assert placed["status"] == "success", placed
            progress = (await http.get("/sim/progress")).json()
            assert (progress["working_orders"], progress["open_positions"]) == (1, 0)
            assert progress["order_update_frames"] == 1
            assert progress["next_step"] == (held_at + step).isoformat()  # nothing moves while held
            assert await statuses(updates, 1) == ["Transit"]

            progress = await run_to(http, held_at + step)
            assert (progress["working_orders"], progress["open_positions"]) == (0, 1)
            assert progress["order_update_frames"] == 3  # one frame per alert, one socket
            assert await statuses(updates, 2) == ["Pending", "Traded"]


def test_scenario_scripts_the_market_from_market_now(sims: SimPool) -> None:
    served = sims.start()
    market = runtime_of(served).market
    assert isinstance(market, ToyMarket)
    contract = runtime_of(served).universe.options(Underlying.NIFTY)[0]
    with client(served) as http:
        assert (
            http.post(
                "/sim/scenario", json={"underlying": "NIFTY", "path": [[0, 24100], [60, 24300]]}
            ).status_code
            == 200
        )
        assert (
            http.post(
                "/sim/scenario", json={"security_id": contract.security_id, "path": [[30, 120.5]]}
            ).status_code
            == 200
        )
    assert [(target, [float(s) for s, _ in points]) for target, _, points in market.scripts] == [
        ("NIFTY", [0.0, 60.0]),
        (contract.security_id, [30.0]),
    ]


def test_state_shows_broker_clock_sockets_and_faults(sims: SimPool) -> None:
    served = sims.start()
    with client(served) as http:
        http.post("/sim/faults", json={"kind": "reject_orders", "count": 2})
        state = http.get("/sim/state").json()
    assert state["broker"]["orders"] == []
    assert state["faults"]["reject_left"] == 2
    assert state["feed"] == {"connections": 0}
    assert set(state["clock"]) >= {"market_start", "speed", "paused", "now"}


BAD_INPUTS: list[tuple[str, Any, int]] = [
    ("/sim/clock", {"start": "2026-09-16T10:00:00", "speed": 1}, 422),  # naive
    ("/sim/clock", {"start": "2026-09-16T10:00:00+05:30", "speed": 0}, 422),
    ("/sim/clock", {"start": "2026-09-16T10:00:00+05:30", "speed": 1e9}, 422),
    ("/sim/clock", {"start": "yesterday", "speed": 1}, 422),
    ("/sim/clock", {"start": "2026-09-16T10:00:00+05:30"}, 422),
    ("/sim/clock", {"start": "2026-09-16T10:00:00+05:30", "speed": 1, "extra": 1}, 422),
    ("/sim/clock", "not json", 422),
    ("/sim/clock", [], 422),
    ("/sim/scenario", {"underlying": "NIFTY", "path": []}, 422),
    ("/sim/scenario", {"underlying": "NIFTY", "security_id": "13", "path": [[0, 1]]}, 422),
    ("/sim/scenario", {"path": [[0, 1]]}, 422),
    ("/sim/scenario", {"underlying": "FINNIFTY", "path": [[0, 1]]}, 422),
    ("/sim/scenario", {"underlying": "NIFTY", "path": [[-1, 24000]]}, 422),
    ("/sim/scenario", {"underlying": "NIFTY", "path": [[0, -5]]}, 422),
    ("/sim/scenario", {"underlying": "NIFTY", "path": [[10, 24000], [5, 24100]]}, 422),
    ("/sim/scenario", {"underlying": "NIFTY", "path": [["x", 24000]]}, 422),
    ("/sim/scenario", {"security_id": "999999", "path": [[0, 10]]}, 404),
    ("/sim/faults", {"kind": "meteor"}, 422),
    ("/sim/faults", {"kind": "pause_order_updates", "seconds": -1}, 422),
    ("/sim/faults", {}, 422),
    ("/sim/clock/run-until", {}, 422),
    ("/sim/clock/run-until", {"run_until": "2026-09-16T09:20:00"}, 422),
    ("/sim/faults", "null", 422),
]


@pytest.mark.parametrize(("path", "body", "status"), BAD_INPUTS)
def test_bad_control_input_gets_a_plain_json_4xx(
    shared: ServedSim, path: str, body: Any, status: int
) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    with client(shared) as http:
        answer = http.post(path, content=content, headers={"content-type": "application/json"})
    assert answer.status_code == status
    assert "error" in answer.json()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(json.dumps),
    st.binary(max_size=64).map(lambda raw: raw.decode("latin-1")),
    st.fixed_dictionaries(
        {"start": st.text(max_size=30) | st.datetimes().map(str), "speed": json_values}
    ).map(json.dumps),
    st.fixed_dictionaries({"underlying": st.sampled_from(["NIFTY", "SENSEX", "x"]), "path": json_values}).map(
        json.dumps
    ),
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["delay_rest", "reject_orders", "x"]), "ms": json_values}
    ).map(json.dumps),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        ["/sim/clock", "/sim/scenario", "/sim/faults", "/sim/clock/pause", "/sim/clock/run-until"]
    ),
    body=bodies,
)
def test_no_control_body_ever_gets_a_5xx(shared: ServedSim, path: str, body: str) -> None:
    with client(shared) as http:
        answer = http.post(path, content=body.encode("utf-8", "surrogatepass"))
        assert answer.status_code < 500, answer.text
        http.post("/sim/faults", json={"kind": "reset"})
