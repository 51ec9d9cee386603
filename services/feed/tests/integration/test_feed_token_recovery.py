"""The feed waits out a refused token (Dhan 807/808...) and recovers once a valid one is there.

The feed service (real NATS) against the sim's feed WebSocket; the sim's `expire_token` fault
refuses the token as Dhan does: 807 to open sockets, and new sockets refused by a code-50 packet
([DOC]) or, in the variants some report, by an HTTP status on the handshake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sarathi.common.dhan.feed_requests import FeedInstrument
from sarathi.common.domain.instruments import Underlying
from sarathi.feed.app import FeedService
from sarathi.sim.testing.harness import SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim

from .conftest import (
    FAST_SIM,
    TickTap,
    eventually,
    feed_settings,
    publishing_clock,
    running_feed_app,
    tapping,
)

INDICES = {"13", "25", "51"}
QUICK_AUTH_RETRY = {"feed_auth_retry_initial_seconds": 0.1, "feed_auth_retry_max_seconds": 0.2}


def _sample(service: FeedService, name: str, **labels: str) -> float:
    return float(service.metrics.registry.get_sample_value(name, labels or None) or 0.0)


async def _readyz(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://feed") as client:
        return await client.get("/readyz")


async def _fault(http_url: str, **fault: Any) -> None:
    async with httpx.AsyncClient(base_url=http_url) as http:
        response = await http.post("/sim/faults", json=fault)
    assert response.status_code == 200, response.text


async def _indices_tick_after(tap: TickTap, mark: int) -> None:
    await tap.wait_for(lambda ticks: {t.security_id for t in ticks[mark:]} >= INDICES)


def _attempts(service: FeedService) -> float:
    return sum(
        _sample(service, "sarathi_feed_disconnects_total", reason=reason)
        for reason in ("807", "http_auth", "cool_off")
    )


@pytest.mark.parametrize("refusal", ["packet", "http_401", "http_429"])
async def test_an_expired_token_makes_the_feed_wait_not_ready_and_ticks_resume_once_it_works_again(
    sims: SimPool, jetstream_clean: str, tmp_path: Path, refusal: str
) -> None:
    served = sims.start(**FAST_SIM, **publishing_clock(jetstream_clean), sim_feed_auth_refusal=refusal)
    settings = feed_settings(served, jetstream_clean, tmp_path, **QUICK_AUTH_RETRY)
    async with tapping(jetstream_clean) as tap, running_feed_app(settings) as app:
        service: FeedService = app.state.feed
        manager = service.manager
        assert manager is not None
        options = five_options(served)
        manager.subscribe("execution", options)
        wanted = INDICES | {o.security_id for o in options}
        await tap.wait_for(lambda ticks: {t.security_id for t in ticks} >= wanted)
        await eventually(lambda: manager.connections[0].ready)
        assert (await _readyz(app)).status_code == 200

        await _fault(served.http_url, kind="expire_token")
        await eventually(lambda: 0 in manager.auth_waiting)
        before = _attempts(service)
        await eventually(lambda: _attempts(service) >= before + 2)  # it keeps trying, slowly
        not_ready = await _readyz(app)
        assert not_ready.status_code == 503
        assert "no connection to Dhan (last error:" in not_ready.json()["checks"]["feed"]
        if refusal == "packet":
            assert "access token expired" in not_ready.json()["checks"]["feed"]
            assert ", 807)" in not_ready.json()["checks"]["feed"]
        assert _sample(service, "sarathi_feed_connection_state", connection="0") == -1
        assert _sample(service, "sarathi_feed_auth_waiting_state", connection="0") == 1
        assert _sample(service, "sarathi_feed_auth_failures_total", reason="807") == 1  # once per state
        assert not manager.stopped

        await _fault(served.http_url, kind="restore_token")
        mark = len(tap.ticks)
        await tap.wait_for(lambda ticks: {t.security_id for t in ticks[mark:]} >= wanted)  # resubscribed
        await eventually(lambda: manager.connections[0].ready)
        assert (await _readyz(app)).status_code == 200
        assert _sample(service, "sarathi_feed_connection_state", connection="0") == 1
        assert _sample(service, "sarathi_feed_auth_waiting_state", connection="0") == 0
        assert not manager.auth_waiting
    subjects = {f"md.tick.{t.segment}.{t.security_id}" for t in tap.ticks[mark:]}
    assert subjects >= {"md.tick.IDX_I.13", "md.tick.IDX_I.25", "md.tick.IDX_I.51"}
    assert subjects >= {f"md.tick.NSE_FNO.{o.security_id}" for o in options}


def five_options(served: ServedSim) -> list[FeedInstrument]:
    options = runtime_of(served).universe.options(Underlying.NIFTY)[:5]
    return [FeedInstrument(o.segment, o.security_id) for o in options]


async def test_a_renewed_token_in_the_token_file_is_picked_up_without_a_restart(
    sims: SimPool, jetstream_clean: str, tmp_path: Path
) -> None:
    served = sims.start(**FAST_SIM, **publishing_clock(jetstream_clean))
    token_file = tmp_path / "dhan-token"
    token_file.write_text("sim-token\n")
    settings = feed_settings(
        served, jetstream_clean, tmp_path, dhan_access_token_file=token_file, **QUICK_AUTH_RETRY
    )
    async with tapping(jetstream_clean) as tap, running_feed_app(settings) as app:
        service: FeedService = app.state.feed
        manager = service.manager
        assert manager is not None
        await _indices_tick_after(tap, 0)

        await _fault(served.http_url, kind="renew_token", token="renewed-token-2")  # old one: 807
        await eventually(lambda: 0 in manager.auth_waiting)
        assert (await _readyz(app)).status_code == 503
        token_file.write_text("renewed-token-2\n")
        mark = len(tap.ticks)
        await _indices_tick_after(tap, mark)
        await eventually(lambda: manager.connections[0].ready)
        assert (await _readyz(app)).status_code == 200
