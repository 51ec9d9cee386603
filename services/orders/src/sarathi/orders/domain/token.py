"""Access-token lifetime (REFERENCE §1.8): when to warn, when to renew; TOTP codes (RFC 6238).

Dhan's token lasts 24 hours. `token_action` decides, at `now`, whether to renew it (inside the
renewal window before expiry), to warn (inside the warning window), or to do nothing. The
expiry comes from the JWT's `exp` claim (read without verifying: we only schedule by it) or
from settings. Nothing here logs or returns the token itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class TokenAction(StrEnum):
    NONE = "NONE"
    WARN = "WARN"  # expiry is near and we cannot renew: an operator must act
    RENEW = "RENEW"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    renew_before: timedelta = timedelta(hours=1)
    warn_before: timedelta = timedelta(hours=3)
    can_renew: bool = False  # renewal API or PIN + TOTP configured


def token_action(now: datetime, expires_at: datetime | None, policy: TokenPolicy) -> TokenAction:
    if expires_at is None:
        return TokenAction.NONE
    left = expires_at - now
    if left <= timedelta(0):
        return TokenAction.EXPIRED
    if policy.can_renew and left <= policy.renew_before:
        return TokenAction.RENEW
    if left <= policy.warn_before:
        return TokenAction.WARN
    return TokenAction.NONE


def next_check(now: datetime, expires_at: datetime | None, policy: TokenPolicy) -> timedelta:
    """How long until the action could change: the next window edge, at most an hour, at least a minute."""
    if expires_at is None:
        return timedelta(hours=1)
    edges = [expires_at - policy.warn_before, expires_at - policy.renew_before, expires_at]
    ahead = [edge - now for edge in edges if edge > now]
    wait = min(ahead) if ahead else timedelta(minutes=1)
    return max(timedelta(minutes=1), min(wait, timedelta(hours=1)))


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT (UTC), or None if the token is not a JWT with one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def totp(secret_base32: str, at: datetime, *, digits: int = 6, step_seconds: int = 30) -> str:
    """The RFC 6238 code (HMAC-SHA1) of `secret_base32` at instant `at`."""
    clean = secret_base32.replace(" ", "").upper()
    key = base64.b32decode(clean + "=" * (-len(clean) % 8))
    counter = int(at.timestamp()) // step_seconds
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)
