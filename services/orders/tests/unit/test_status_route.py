"""`GET /status`: what the operator (in sim mode also `sarathi chaos`) reads, from the running parts."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

import httpx
from fastapi import FastAPI

from sarathi.common.settings import Mode
from sarathi.orders.api import build_router
from sarathi.orders.service import OrdersService


class QueuedOutbox:
    """The publisher as `/status` sees it, with events still queued."""

    def __init__(self, pending: int, published: int) -> None:
        self.published = published
        self._pending = pending

    async def pending(self) -> int:
        return self._pending


def a_running_service(*, frames: int, pending: int, published: int, mode: Mode = Mode.SIM) -> OrdersService:
    reconciled, connected = asyncio.Event(), asyncio.Event()
    reconciled.set()
    connected.set()
    parts = SimpleNamespace(
        reconciler=SimpleNamespace(reconciled=reconciled, passes=2),
        updates=SimpleNamespace(connected=connected, connections=1, frames=frames),
        publisher=QueuedOutbox(pending, published),
        settings=SimpleNamespace(mode=mode),
    )
    return cast(OrdersService, parts)


async def test_status_reports_the_order_update_frames_handled_and_the_events_not_yet_published() -> None:
    service = a_running_service(frames=7, pending=2, published=11)
    app = FastAPI()
    app.include_router(build_router(lambda: service, kill_switch_default=False))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as http:
        reply = await http.get("/status")

    assert reply.status_code == 200
    assert reply.json() == {
        "reconciled": True,
        "reconciliation_passes": 2,
        "order_update_connected": True,
        "order_update_connections": 1,
        "events_published": 11,
        "order_update_frames": 7,
        "outbox_pending": 2,
    }


async def test_outside_sim_mode_status_has_no_sim_only_counters() -> None:
    service = a_running_service(frames=7, pending=0, published=11, mode=Mode.LIVE)
    app = FastAPI()
    app.include_router(build_router(lambda: service, kill_switch_default=False))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as http:
        body = (await http.get("/status")).json()

    assert "order_update_frames" not in body
    assert "events_published" not in body


async def test_status_is_unavailable_until_the_service_runs() -> None:
    app = FastAPI()
    app.include_router(build_router(lambda: None, kill_switch_default=False))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as http:
        reply = await http.get("/status")

    assert reply.status_code == 503
