"""The orders service's own HTTP routes: `POST /kill` (bearer token) and `GET /status`.

`POST /kill` cancels every open order and leg, exits every position, confirms at the broker that
the account is flat, and (with `activate_kill_switch`, or the setting) activates Dhan's kill
switch. The app's `ControlGate` (`sarathi.common.web`) checks the bearer token before the body is
read: a missing or wrong one gets 401 and changes nothing; with no token configured every call is
refused; a body over 16 KiB gets 413 unread; a 422 never repeats the input. `gate_passed` keeps
`/kill` closed if the router is ever mounted without the gate. The reply says whether the account
is flat, per contract what was done, and what is left. `GET /status` is open (`sarathi chaos` reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from sarathi.common.logging import get_logger
from sarathi.common.settings import Mode
from sarathi.common.web import gate_passed
from sarathi.orders.service import OrdersService

log = get_logger(__name__)


class KillRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kill_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    reason: str = Field(min_length=1, max_length=500)
    requested_by: str = Field(min_length=1, max_length=64)
    activate_kill_switch: bool | None = None


def build_router(service: Callable[[], OrdersService | None], kill_switch_default: bool) -> APIRouter:
    router = APIRouter(tags=["orders"])

    def running() -> OrdersService:
        current = service()
        if current is None:
            raise HTTPException(503, "the orders service is not running")
        return current

    @router.post("/kill", dependencies=[Depends(gate_passed)])
    async def kill(request: KillRequest) -> dict[str, Any]:
        orders = running()
        log.warning("kill_requested", kill_id=request.kill_id, by=request.requested_by, reason=request.reason)
        activate = (
            kill_switch_default if request.activate_kill_switch is None else request.activate_kill_switch
        )
        report = await orders.killer.kill(request.kill_id, activate_kill_switch=activate)
        return {
            "kill_id": report.kill_id,
            "flat": report.flat,
            "exits": report.exits,
            "open_orders": report.open_orders,
            "nets": report.nets,
            "kill_switch": report.kill_switch,
            "errors": list(report.errors),
        }

    @router.get("/status")
    async def status() -> dict[str, Any]:
        orders = running()
        status = {
            "reconciled": orders.reconciler.reconciled.is_set(),
            "reconciliation_passes": orders.reconciler.passes,
            "order_update_connected": orders.updates.connected.is_set(),
            "order_update_connections": orders.updates.connections,
            "outbox_pending": await orders.publisher.pending(),
        }
        if orders.settings.mode is Mode.SIM:  # what `sarathi chaos` settles on; sim mode only
            status["events_published"] = orders.publisher.published
            status["order_update_frames"] = orders.updates.frames
        return status

    return router
