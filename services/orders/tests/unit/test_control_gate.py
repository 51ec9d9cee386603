"""Orders' `/kill` authenticates before it reads a body, caps bodies, and never echoes input
(it once answered a 20 MB unauthenticated body with a 62 MB 422 repeating it)."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sarathi.common.testing.asgi import send_request
from sarathi.orders.app import build_app
from sarathi.orders.settings import OrdersSettings

TOKEN = "operator-secret"
JSON = {"Content-Type": "application/json"}
AUTH = {**JSON, "Authorization": f"Bearer {TOKEN}"}
KiB = 1024


def the_app() -> FastAPI:
    settings = OrdersSettings(
        nats_url="nats://127.0.0.1:1",
        database_url="postgresql://x@127.0.0.1:1/x",
        orders_control_token=SecretStr(TOKEN),
    )
    return build_app(settings)  # not started: nothing connects


@pytest.mark.parametrize("body", [b"{not json", b'{"kill_id": 5}', b"MARKER" * 1000])
async def test_an_unauthenticated_malformed_body_gets_401_and_no_echo(body: bytes) -> None:
    reply = await send_request(the_app(), "POST", "/kill", headers=JSON, chunks=[body])

    assert reply.status == 401, reply.body
    assert (reply.chunks_read, b"MARKER" in reply.body) == (0, False)


async def test_an_unauthenticated_body_that_never_ends_gets_401_unread() -> None:
    reply = await send_request(the_app(), "POST", "/kill", headers=JSON, chunks=[b"{"], then_stall=True)

    assert (reply.status, reply.chunks_read) == (401, 0)


async def test_an_authenticated_body_past_16_kib_gets_413_and_the_rest_is_not_read() -> None:
    declared = await send_request(
        the_app(), "POST", "/kill", headers={**AUTH, "Content-Length": str(20 * KiB * KiB)}, then_stall=True
    )
    streamed = await send_request(
        the_app(), "POST", "/kill", headers=AUTH, chunks=[b" " * KiB] * 64, then_stall=True
    )

    assert (declared.status, declared.chunks_read) == (413, 0)
    assert (streamed.status, streamed.chunks_read) == (413, 17)


async def test_a_422_from_kill_never_contains_the_input() -> None:
    body = {"kill_id": "MARKER!" * 5, "reason": "MARKER" * 200, "requested_by": ["MARKER"], "MARKER": 1}

    reply = await send_request(the_app(), "POST", "/kill", headers=AUTH, chunks=[json.dumps(body).encode()])

    assert reply.status == 422
    assert b"MARKER" not in reply.body
    assert {tuple(e["loc"]) for e in json.loads(reply.body)["detail"]} >= {
        ("body", "kill_id"),
        ("body", "reason"),
    }


async def test_status_stays_open_for_sarathi_chaos() -> None:
    reply = await send_request(the_app(), "GET", "/status")

    assert reply.status == 503  # not 401: the service is simply not running
