"""Dhan's header authentication (REFERENCE §1.2, Appendix A.1) as a FastAPI dependency.

Every call carries `access-token`; data APIs (market quote, option chain) also need `client-id`.
A bad or expired token answers as live Dhan does by default (400 DH-906 "Invalid Token"); the
docs' variant (401 DH-901) is a setting. Data APIs answer 401 with data error 808.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from enum import StrEnum

from fastapi import Request

from sarathi.sim.api.errors import DhanApiError, data_error, is_data_path, trading_error


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


def _auth_error(path: str, credentials: Credentials) -> DhanApiError:
    if is_data_path(path):
        return data_error(401, 807 if credentials.expired else 808)
    if credentials.bad_token_style is BadTokenStyle.DOCS:
        return trading_error(401, "DH-901", "Client ID or user generated access token is invalid or expired.")
    return trading_error(400, "DH-906", "Invalid Token")


def check_request(request: Request, credentials: Credentials) -> None:
    """Raise Dhan's error unless the request carries the valid token (and client id where needed)."""
    path = request.url.path
    if not credentials.token_is_valid(request.headers.get("access-token")):
        raise _auth_error(path, credentials)
    if is_data_path(path) and request.headers.get("client-id") != credentials.client_id:
        raise data_error(401, 810 if request.headers.get("client-id") else 808)
