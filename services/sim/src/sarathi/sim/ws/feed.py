"""The market-feed WebSocket at `/feed` (REFERENCE §6, Appendix A.10–14).

`ws://HOST:8600/feed?version=2&token=...&clientId=...&authType=2`, as the official `MarketFeed`
builds it. As at Dhan the handshake always succeeds and authorisation is checked afterwards: a
bad client id gets a code-50 packet with reason 808, a bad token 809, an expired one 807, and
the socket is closed. `version` and `authType` are not checked (UNVERIFIED what Dhan does).

After that the socket takes JSON requests (see `feed_hub` for the rules), and receives one
packet per WebSocket message — the SDK decodes only the first packet of a message. The server
pings every 10 s; that is uvicorn's `ws_ping_interval` (see `sarathi.sim.app.uvicorn_config`).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, WebSocket
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


def auth_failure(credentials: Credentials, query: QueryParams) -> int | None:
    """The Dhan reason code refusing this connection, or None when it may proceed."""
    if query.get("clientId") != credentials.client_id:
        return CLIENT_ID_INVALID
    token = query.get("token")
    if credentials.expired:  # the right token, expired, reads 807; any other token 809
        right = token is not None and hmac.compare_digest(token, credentials.access_token)
        return TOKEN_EXPIRED if right else TOKEN_INVALID
    return None if credentials.token_is_valid(token) else TOKEN_INVALID


def build_feed_router(
    hub: FeedHub, credentials: Credentials, metrics: SimMetrics, *, max_queued_messages: int
) -> APIRouter:
    router = APIRouter()

    @router.websocket(FEED_PATH)
    async def market_feed(websocket: WebSocket) -> None:
        await websocket.accept()
        outbox = Outbox(max_queued_messages)
        reason = auth_failure(credentials, websocket.query_params)
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
