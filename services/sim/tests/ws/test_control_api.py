"""The /sim control API: clock, scenario, faults, state — and never a 500 on bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarathi.common.domain.instruments import Underlying
from sarathi.sim.testing.fakes import ToyMarket
from sarathi.sim.testing.harness import SimPool, runtime_of, sim_pool
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
