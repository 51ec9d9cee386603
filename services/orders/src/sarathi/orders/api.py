"""The orders service's own HTTP routes: `POST /kill` (bearer token) and `GET /status`.

`POST /kill` cancels every open order and leg, exits every position, confirms at the broker that
the account is flat, and (with `activate_kill_switch`, or the setting) activates Dhan's kill
switch. A missing or wrong bearer token gets 401 and changes nothing; with no token configured
every call is refused. The reply says whether the account is flat, per contract what was done,
and what is left.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sarathi.common.logging import get_logger
from sarathi.orders.service import OrdersService

log = get_logger(__name__)


class KillRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kill_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    reason: str = Field(min_length=1, max_length=500)
    requested_by: str = Field(min_length=1, max_length=64)
    activate_kill_switch: bool | None = None


def _authorized(expected: SecretStr, authorization: str | None) -> bool:
    token = expected.get_secret_value()
    if not token or not authorization or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), token.encode())


def build_router(
    service: Callable[[], OrdersService | None], token: SecretStr, kill_switch_default: bool
) -> APIRouter:
    router = APIRouter(tags=["orders"])

    def running() -> OrdersService:
        current = service()
        if current is None:
            raise HTTPException(503, "the orders service is not running")
        return current

    @router.post("/kill")
    async def kill(request: KillRequest, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        if not _authorized(token, authorization):
            raise HTTPException(401, "a valid bearer token is required")
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
        return {
            "reconciled": orders.reconciler.reconciled.is_set(),
            "reconciliation_passes": orders.reconciler.passes,
            "order_update_connected": orders.updates.connected.is_set(),
            "order_update_connections": orders.updates.connections,
            "events_published": orders.publisher.published,
            "order_update_frames": orders.updates.frames,
            "outbox_pending": await orders.publisher.pending(),
        }

    return router
