"""The market-feed WebSocket at `/feed` (REFERENCE §6, Appendix A.10–14).

`ws://HOST:8600/feed?version=2&token=...&clientId=...&authType=2`, as the official `MarketFeed`
builds it. As Dhan's docs say (REFERENCE §6.1 [DOC]) the handshake succeeds and authorisation is
checked afterwards: a bad client id gets a code-50 packet with reason 808, a bad token 809, an
expired one (or one a renewal replaced) 807, and the socket is closed. Community reports see an
HTTP status on the handshake instead (429, "some report it when the data plan has lapsed" [COMM];
808 is answered 401 on the data REST API [LIVE]): `SARATHI_SIM_FEED_AUTH_REFUSAL` = `http_401` /
`http_429` refuses the upgrade of a socket with bad credentials with that status instead
(UNVERIFIED which Dhan does today; the feed service survives each). `version` and `authType`
are not checked (UNVERIFIED what Dhan does).

After that the socket takes JSON requests (see `feed_hub` for the rules), and receives one
packet per WebSocket message — the SDK decodes only the first packet of a message. The server
pings every 10 s; that is uvicorn's `ws_ping_interval` (see `sarathi.sim.app.uvicorn_config`).
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams

from sarathi.common.logging import get_logger
from sarathi.sim.api.auth import Credentials
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws import packets
from sarathi.sim.ws.feed_hub import FeedHub
from sarathi.sim.ws.outbox import POLICY_VIOLATION, Outbox, pump

log = get_logger(__name__)

FEED_PATH = "/feed"
CLIENT_ID_INVALID = 808  # the SDK prints "Invalid Client ID" for 808
TOKEN_INVALID = 809  # ... and "Authentication Failed" for 809
TOKEN_EXPIRED = 807


class FeedAuthRefusal(StrEnum):
    """How a feed socket with bad credentials is refused (module docstring)."""

    PACKET = "packet"  # accept, code-50 packet with the reason, close [DOC]
    HTTP_401 = "http_401"  # refuse the upgrade: HTTP 401 with Dhan's data error body
    HTTP_429 = "http_429"  # refuse the upgrade: HTTP 429 [COMM]


def auth_failure(credentials: Credentials, query: QueryParams) -> int | None:
    """The Dhan reason code refusing this connection, or None when it may proceed."""
    if query.get("clientId") != credentials.client_id:
        return CLIENT_ID_INVALID
    token = query.get("token")
    if credentials.token_is_valid(token):
        return None
    return TOKEN_EXPIRED if credentials.token_is_expired(token) else TOKEN_INVALID


def build_feed_router(
    hub: FeedHub,
    credentials: Credentials,
    metrics: SimMetrics,
    *,
    max_queued_messages: int,
    auth_refusal: FeedAuthRefusal = FeedAuthRefusal.PACKET,
) -> APIRouter:
    router = APIRouter()

    @router.websocket(FEED_PATH)
    async def market_feed(websocket: WebSocket) -> None:
        reason = auth_failure(credentials, websocket.query_params)
        if reason is not None and auth_refusal is not FeedAuthRefusal.PACKET:
            status = 401 if auth_refusal is FeedAuthRefusal.HTTP_401 else 429
            metrics.feed_disconnects.labels(reason=f"http_{status}").inc()
            log.info("feed_auth_refused", reason=reason, http_status=status)
            body = {"data": {str(reason): "authentication refused"}, "status": "failed"}  # §1.5 shape
            await websocket.send_denial_response(JSONResponse(body, status_code=status))
            return
        await websocket.accept()
        outbox = Outbox(max_queued_messages)
        if reason is not None:
            metrics.feed_disconnects.labels(reason=str(reason)).inc()
            log.info("feed_auth_refused", reason=reason)
            outbox.close(POLICY_VIOLATION, f"dhan reason {reason}", last=packets.disconnect(reason))
            await pump(websocket, outbox, lambda _: None)
            return
        connection = hub.register(credentials.client_id, outbox)
        log.info("feed_connected", connection=connection.number, open_connections=len(hub))
        try:
            await pump(websocket, outbox, lambda frame: hub.handle_request(connection, frame))
        finally:
            hub.unregister(connection)
            log.info("feed_disconnected", connection=connection.number, open_connections=len(hub))

    return router
