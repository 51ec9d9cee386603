"""Paper mode, real app on a real NATS: the sim follows the Dhan token orders shares in the KV
bucket `credentials`, as feed, signals and execution do, so the calls orders makes with a renewed
token are accepted and the replaced token is refused, as Dhan refuses it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sarathi.common.bus.nats import NatsBus
from sarathi.common.clock import wall_clock
from sarathi.common.dhan.token_share import TokenCipher, TokenPublisher
from sarathi.common.settings import Mode
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, sim_pool
from sarathi.sim.testing.server import ServedSim

TIMEOUT_SECONDS = 15.0
KEY = Fernet.generate_key().decode()
RENEWED = "renewed-dhan-token"


@pytest.fixture
def sims() -> Iterator[SimPool]:
    yield from sim_pool()


def a_paper_sim(sims: SimPool, nats_url: str) -> ServedSim:
    return sims.start(
        real=True, mode=Mode.PAPER, nats_url=nats_url, sim_publish_clock=True, sim_start=None, token_key=KEY
    )


async def funds_status(http: httpx.AsyncClient, token: str) -> int:
    reply = await http.get("/v2/fundlimit", headers={"access-token": token, "client-id": CLIENT_ID})
    return reply.status_code


async def share(nats_url: str, token: str) -> None:
    """What orders does: its configured token at start, then the renewed one (version 2)."""
    bus = await NatsBus.connect(nats_url, name="test-orders")
    try:
        await bus.ensure_streams()  # as every service does at start
        owner = TokenPublisher(bus, TokenCipher(SecretStr(KEY)))
        await owner.publish(SecretStr(TOKEN), None)
        await owner.publish(SecretStr(token), wall_clock() + timedelta(hours=24))
    finally:
        await bus.close()


async def test_a_paper_sim_accepts_the_renewed_shared_token_and_refuses_the_one_it_replaced(
    sims: SimPool, jetstream_clean: str
) -> None:
    served = a_paper_sim(sims, jetstream_clean)
    async with httpx.AsyncClient(base_url=served.http_url, timeout=TIMEOUT_SECONDS) as http:
        assert await funds_status(http, TOKEN) == 200

        await share(jetstream_clean, RENEWED)

        async with asyncio.timeout(TIMEOUT_SECONDS):
            while await funds_status(http, RENEWED) != 200:  # noqa: ASYNC110 - the KV watch delivers
                await asyncio.sleep(0.05)
        refused = await http.get("/v2/fundlimit", headers={"access-token": TOKEN, "client-id": CLIENT_ID})
        assert (refused.status_code, refused.json()["errorCode"]) == (400, "DH-906")
        assert (await http.get("/readyz")).status_code == 200


async def test_a_paper_sim_started_after_a_renewal_accepts_the_shared_token_at_once(
    sims: SimPool, jetstream_clean: str
) -> None:
    await share(jetstream_clean, RENEWED)  # a renewal before the sim (re)started

    served = a_paper_sim(sims, jetstream_clean)

    async with httpx.AsyncClient(base_url=served.http_url, timeout=TIMEOUT_SECONDS) as http:
        assert await funds_status(http, RENEWED) == 200
        assert await funds_status(http, TOKEN) == 400
