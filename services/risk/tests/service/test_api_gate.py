"""The risk app authenticates before it reads a body, caps bodies, and never echoes input.

The app is the real one (`build_app`), not started: without a token nothing gets past the gate;
with the token a valid body would get 503 (the service is not running), an invalid one 422.
"""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from sarathi.common.testing.asgi import send_request
from sarathi.risk.app import build_app
from sarathi.risk.settings import RiskSettings

TOKEN = "gate-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
KiB = 1024


def the_app():  # type: ignore[no-untyped-def]
    settings = RiskSettings(
        nats_url="nats://127.0.0.1:1",
        database_url="postgresql://x@127.0.0.1:1/x",
        control_token=SecretStr(TOKEN),
    )
    return build_app(settings)


@pytest.mark.parametrize("path", ["/pause", "/resume", "/flatten", "/kill", "/clear-kill"])
@pytest.mark.parametrize("body", [b"{not json", b'{"reason": 5}', b'{"surprise": 1}', b"[Infinity]"])
async def test_an_unauthenticated_malformed_body_gets_401_not_422(path: str, body: bytes) -> None:
    reply = await send_request(
        the_app(), "POST", path, headers={"Content-Type": "application/json"}, chunks=[body]
    )

    assert reply.status == 401, reply.body
    assert reply.chunks_read == 0


async def test_an_unauthenticated_body_that_never_ends_gets_401_without_being_read() -> None:
    reply = await send_request(
        the_app(),
        "POST",
        "/kill",
        headers={"Content-Type": "application/json"},
        chunks=[b"{"],
        then_stall=True,
    )

    assert (reply.status, reply.chunks_read) == (401, 0)


async def test_an_oversized_declared_body_gets_413_without_being_read() -> None:
    headers = {**AUTH, "Content-Length": str(20 * KiB * KiB)}

    reply = await send_request(
        the_app(), "POST", "/kill", headers=headers, chunks=[b" " * KiB], then_stall=True
    )

    assert (reply.status, reply.chunks_read) == (413, 0)


async def test_a_streamed_body_that_never_ends_gets_413_once_past_16_kib() -> None:
    chunks = [b" " * KiB] * 64  # 64 KiB offered, and then the body never ends

    reply = await send_request(the_app(), "POST", "/kill", headers=AUTH, chunks=chunks, then_stall=True)

    assert reply.status == 413
    assert reply.chunks_read == 17  # 16 KiB is allowed; the 17th KiB is the last byte read


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "MARKER" * 100},  # too long
        {"reason": ["MARKER"]},
        {"MARKER_unknown_field": "MARKER value"},
        {"<MARKER key>": 1},
    ],
)
async def test_a_422_never_contains_the_input(body: object) -> None:
    reply = await send_request(the_app(), "POST", "/pause", headers=AUTH, chunks=[json.dumps(body).encode()])

    assert reply.status == 422
    assert b"MARKER" not in reply.body
    assert json.loads(reply.body)["detail"]  # it still says what is wrong
