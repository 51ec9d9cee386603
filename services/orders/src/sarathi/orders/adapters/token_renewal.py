"""Token renewal against Dhan's auth APIs through the official client (`dhanhq.DhanLogin`).

- `RenewTokenRenewer`: `GET <rest url>/RenewToken` (only for web-generated tokens still valid,
  REFERENCE §1.8), at the configured Dhan REST base URL, so in sim mode it reaches the sim.
- `TotpTokenRenewer`: `POST auth.dhan.co/app/generateAccessToken` with PIN and a TOTP code
  computed here (RFC 6238) from the configured secret. UNVERIFIED against a server (the sim has
  no auth.dhan.co endpoints; TOTP is refused in sim mode: it would mint a real token).
Both run the blocking client in a thread with our timeout. Replies are read for `accessToken`
or `token` (clients disagree on RenewToken's key, UNVERIFIED) and `expiryTime`; nothing of them
is logged.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from dhanhq.auth import DhanLogin
from pydantic import SecretStr

from sarathi.common.clock import Clock
from sarathi.common.domain.calendar import IST
from sarathi.orders.domain.token import jwt_expiry, totp


class RenewalError(RuntimeError):
    """The auth API gave no token."""


def _token_of(reply: Any) -> tuple[SecretStr, datetime | None]:
    data = reply.get("data", reply) if isinstance(reply, dict) else None
    token = data.get("accessToken") or data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise RenewalError("the auth reply carried no access token")
    expiry: datetime | None = jwt_expiry(token)
    text = data.get("expiryTime") if isinstance(data, dict) else None
    if expiry is None and isinstance(text, str):
        try:
            expiry = datetime.fromisoformat(text)
            expiry = expiry if expiry.tzinfo else expiry.replace(tzinfo=IST)
        except ValueError:
            expiry = None
    return SecretStr(token), expiry


class RenewTokenRenewer:
    def __init__(self, client_id: str, current: Any, *, rest_url: str, timeout_seconds: float = 10.0) -> None:
        self._login = DhanLogin(client_id)
        self._login.API_BASE_URL = rest_url.rstrip("/")  # the SDK's class attribute, per instance
        self._current = current  # () -> str: the token in use now
        self._timeout = timeout_seconds

    async def renew(self) -> tuple[SecretStr, datetime | None]:
        reply = await asyncio.wait_for(
            asyncio.to_thread(self._login.renew_token, self._current()), self._timeout
        )
        return _token_of(reply)


class TotpTokenRenewer:
    def __init__(
        self,
        client_id: str,
        pin: SecretStr,
        totp_secret: SecretStr,
        clock: Clock,
        *,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._login = DhanLogin(client_id)
        self._pin = pin
        self._secret = totp_secret
        self._clock = clock
        self._timeout = timeout_seconds

    async def renew(self) -> tuple[SecretStr, datetime | None]:
        code = totp(self._secret.get_secret_value(), self._clock.now())
        reply = await asyncio.wait_for(
            asyncio.to_thread(self._login.generate_token, self._pin.get_secret_value(), code), self._timeout
        )
        return _token_of(reply)
