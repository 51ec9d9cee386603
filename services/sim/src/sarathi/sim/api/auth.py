"""Dhan's header authentication (REFERENCE §1.2, Appendix A.1), and `GET /v2/RenewToken`.

Every call carries `access-token`; data APIs (market quote, option chain) also need `client-id`.
A bad or expired token answers as live Dhan does by default (400 DH-906 "Invalid Token"); the
docs' variant (401 DH-901) is a setting. Data APIs answer 401 with data error 808 (807 for an
expired token, or one a renewal replaced).

`GET /v2/RenewToken` (headers `access-token`, `dhanClientId`; REFERENCE §1.8 [DOC], dhanhq
`DhanLogin.renew_token` [SDK]) answers a new token valid 24 hours of market time and expires the
one it replaces. The new token is JWT-shaped like Dhan's (`exp`, `iat`, `dhanClientId` claims;
the signature is random, nothing verifies it). The reply's keys are not documented: clients read
`accessToken` + `expiryTime` (the shape of Dhan's other token replies) or `token` [COMM];
`SARATHI_SIM_RENEW_TOKEN_REPLY` picks one (UNVERIFIED which Dhan sends). Dhan accepts it only for
a still-valid token; which error a bad `dhanClientId` header gets is UNVERIFIED (the token's).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sarathi.common.domain.calendar import IST
from sarathi.sim.api.errors import DhanApiError, data_error, is_data_path, trading_error

TOKEN_LIFETIME = timedelta(hours=24)  # REFERENCE §1.8 [DOC]


class BadTokenStyle(StrEnum):
    LIVE = "live"  # 400 DH-906 "Invalid Token" (what production answers)
    DOCS = "docs"  # 401 DH-901 (what the documentation says)


@dataclass
class Credentials:
    """The one valid client id and token; `expired` is set by the `expire_token` fault and
    cleared by `restore_token`; `renew_token` replaces the token, and the one it replaces reads
    as expired from then on (Dhan's RenewToken expires the token it replaces, REFERENCE §1.8)."""

    client_id: str
    access_token: str
    expired: bool = False
    bad_token_style: BadTokenStyle = BadTokenStyle.LIVE
    retired_tokens: list[str] = field(default_factory=list)

    def token_is_valid(self, token: str | None) -> bool:
        return token is not None and not self.expired and hmac.compare_digest(token, self.access_token)

    def token_is_expired(self, token: str | None) -> bool:
        """The current token while expired, or a token a renewal replaced."""
        if token is None:
            return False
        if self.expired and hmac.compare_digest(token, self.access_token):
            return True
        return any(hmac.compare_digest(token, old) for old in self.retired_tokens)

    def renew(self, token: str) -> None:
        if not hmac.compare_digest(token, self.access_token):
            self.retired_tokens.append(self.access_token)
        self.access_token, self.expired = token, False


def _auth_error(path: str, credentials: Credentials, token: str | None) -> DhanApiError:
    if is_data_path(path):
        return data_error(401, 807 if credentials.expired or credentials.token_is_expired(token) else 808)
    if credentials.bad_token_style is BadTokenStyle.DOCS:
        return trading_error(401, "DH-901", "Client ID or user generated access token is invalid or expired.")
    return trading_error(400, "DH-906", "Invalid Token")


def check_request(request: Request, credentials: Credentials) -> None:
    """Raise Dhan's error unless the request carries the valid token (and client id where needed)."""
    path = request.url.path
    token = request.headers.get("access-token")
    if not credentials.token_is_valid(token):
        raise _auth_error(path, credentials, token)
    if is_data_path(path) and request.headers.get("client-id") != credentials.client_id:
        raise data_error(401, 810 if request.headers.get("client-id") else 808)


class RenewTokenReply(StrEnum):
    """The keys of RenewToken's reply (module docstring)."""

    ACCESS_TOKEN = "access_token"  # noqa: S105 - a reply shape; {dhanClientId, accessToken, expiryTime} [COMM: DhanHQ gem docs]
    TOKEN = "token"  # noqa: S105 - a reply shape; {"token": ...} [COMM: clients reading `token`]


def mint_token(client_id: str, now: datetime) -> tuple[str, datetime]:
    """A new JWT-shaped token and its expiry (claims as Dhan's, signature random)."""
    expires = now + TOKEN_LIFETIME

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {
        "iss": "dhan", "exp": int(expires.timestamp()), "iat": int(now.timestamp()),
        "tokenConsumerType": "SELF", "dhanClientId": client_id,
    }  # fmt: skip
    return f"{part({'typ': 'JWT', 'alg': 'HS512'})}.{part(claims)}.{secrets.token_urlsafe(32)}", expires


def build_auth_router(
    credentials: Credentials,
    now: Callable[[], datetime],
    renew: Callable[[str], None],
    *,
    reply: RenewTokenReply = RenewTokenReply.ACCESS_TOKEN,
) -> APIRouter:
    """`GET /v2/RenewToken`; `renew(token)` makes `token` the valid one (and expires the old)."""
    router = APIRouter(prefix="/v2", tags=["auth"])

    @router.get("/RenewToken")
    async def renew_token(request: Request) -> JSONResponse:
        old = request.headers.get("access-token")
        if (
            not credentials.token_is_valid(old)
            or request.headers.get("dhanClientId") != credentials.client_id
        ):
            raise _auth_error(request.url.path, credentials, old)
        token, expires = mint_token(credentials.client_id, now())
        renew(token)
        if reply is RenewTokenReply.TOKEN:
            return JSONResponse({"token": token})
        expiry = expires.astimezone(IST).replace(tzinfo=None).isoformat(timespec="milliseconds")
        return JSONResponse(
            {"dhanClientId": credentials.client_id, "accessToken": token, "expiryTime": expiry}
        )

    return router
