"""`ControlGate` behind a real uvicorn on a free port: the token is checked before a byte of the
body is read, a body that never ends still gets an answer, and a 422 never repeats its input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from pydantic import BaseModel, ConfigDict, SecretStr

from sarathi.common.metrics import ServiceMetrics
from sarathi.common.web import MAX_BODY_BYTES, create_app

TOKEN = "s3cret"


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str


@asynccontextmanager
async def served() -> AsyncIterator[int]:
    app = create_app(
        service="gate", metrics=ServiceMetrics("gate"), checks={}, control_token=SecretStr(TOKEN)
    )
    seen: list[Order] = []

    @app.post("/act")
    async def act(order: Order) -> dict[str, str]:
        seen.append(order)
        return {"done": order.reason}

    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
                await asyncio.sleep(0.01)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def open_chunked_post(port: int, headers: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /act HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader) -> int:
    async with asyncio.timeout(5):
        line = await reader.readline()
    return int(line.split()[1])


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def test_a_never_ending_unauthenticated_body_gets_401_at_once() -> None:
    async with served() as port:
        reader, writer = await open_chunked_post(port, "")
        writer.write(chunk(b'{"reason": '))  # ... and the body never ends
        await writer.drain()

        assert await status_of(reader) == 401
        writer.close()


async def test_a_never_ending_authenticated_body_gets_413_once_past_the_limit() -> None:
    async with served() as port:
        reader, writer = await open_chunked_post(port, f"Authorization: Bearer {TOKEN}\r\n")
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            writer.write(chunk(b" " * 1024))
        await writer.drain()  # past the limit, and the body never ends

        assert await status_of(reader) == 413
        writer.close()


async def test_a_422_names_the_problem_but_never_the_input() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = json.dumps({"reason": ["MARKER"], "MARKER": 1}).encode()
        writer.write(
            f"POST /act HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        async with asyncio.timeout(5):
            reply = await reader.read()
        writer.close()

    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.split()[1] == b"422"
    assert b"MARKER" not in payload
    assert [e["loc"] for e in json.loads(payload)["detail"]] == [
        ["body", "reason"],
        ["body", "(unknown field)"],
    ]
