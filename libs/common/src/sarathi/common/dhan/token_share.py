"""One Dhan access token for every service (docs/architecture.md §11 "The token").

Dhan's RenewToken expires the token it replaces (REFERENCE §1.8), so exactly one owner renews
(orders' `TokenKeeper`) and publishes the token here; every service that talks to Dhan follows it
and swaps it in without a restart.

Where: the JetStream KV bucket `credentials`, key `dhan_access_token`. Why KV and not a mounted
file: every service already holds a NATS connection, a watch delivers a change at once, and a
shared file would need a volume mounted read-write into several pods. The value is never in
clear on the bus: it is a `SharedToken` (token, version, expiry) as JSON, sealed with Fernet
(AES-128-CBC + HMAC-SHA256) under `SARATHI_TOKEN_KEY`, a Secret only our services hold.

A follower applies a record only if its version is newer than the one it holds and its token has
not expired. Nothing here logs a token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from sarathi.common.bus.port import Bus, KvEntry
from sarathi.common.bus.streams import CREDENTIALS_BUCKET, DHAN_ACCESS_TOKEN_KEY
from sarathi.common.clock import Clock
from sarathi.common.logging import get_logger
from sarathi.common.tasks import BackgroundTasks

log = get_logger(__name__)

FOLLOWER_TASK = "token-follower"

TokenSink = Callable[[SecretStr], None]
"""Told the token to use from now on (e.g. `DhanRest.set_access_token`)."""


class TokenShareError(ValueError):
    """A shared-token record that cannot be read: wrong key, tampered, or malformed."""


@dataclass(frozen=True, slots=True)
class SharedToken:
    token: SecretStr
    version: int
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def __repr__(self) -> str:  # never the token
        expiry = self.expires_at.isoformat() if self.expires_at else None
        return f"SharedToken(version={self.version}, expires_at={expiry})"


class TokenCipher:
    """Seals and opens `SharedToken` records with one Fernet key."""

    def __init__(self, key: SecretStr) -> None:
        try:
            self._fernet = Fernet(key.get_secret_value().encode())
        except (ValueError, TypeError) as exc:
            raise TokenShareError("SARATHI_TOKEN_KEY is not a Fernet key (32 url-safe base64 bytes)") from exc

    def seal(self, shared: SharedToken) -> bytes:
        body = {
            "token": shared.token.get_secret_value(),
            "version": shared.version,
            "expires_at": shared.expires_at.isoformat() if shared.expires_at else None,
        }
        return self._fernet.encrypt(json.dumps(body).encode())

    def open(self, sealed: bytes) -> SharedToken:
        try:
            body = json.loads(self._fernet.decrypt(sealed))
            expires = body["expires_at"]
            shared = SharedToken(
                token=SecretStr(str(body["token"])),
                version=int(body["version"]),
                expires_at=datetime.fromisoformat(expires) if expires else None,
            )
        except InvalidToken:
            raise TokenShareError("the shared token does not open with this key (or was altered)") from None
        except (ValueError, KeyError, TypeError):
            raise TokenShareError("the shared token record is malformed") from None
        if not shared.token.get_secret_value() or (shared.expires_at and shared.expires_at.tzinfo is None):
            raise TokenShareError("the shared token record is malformed")
        return shared


async def read_shared(bus: Bus, cipher: TokenCipher) -> SharedToken | None:
    """The record in the bucket now, or None (none yet, or unreadable: logged)."""
    entry = await bus.kv_get(DHAN_ACCESS_TOKEN_KEY, bucket=CREDENTIALS_BUCKET)
    return _opened(entry, cipher) if entry is not None and entry.value else None


def _opened(entry: KvEntry, cipher: TokenCipher) -> SharedToken | None:
    try:
        return cipher.open(entry.value)
    except TokenShareError as exc:
        log.error("shared_token_unreadable", revision=entry.revision, error=str(exc))
        return None


class TokenPublisher:
    """The owner's side: publish each new token with the next version."""

    def __init__(self, bus: Bus, cipher: TokenCipher) -> None:
        self._bus = bus
        self._cipher = cipher
        self.version = 0

    async def adopt_or_publish(
        self, token: SecretStr, expires_at: datetime | None, now: datetime
    ) -> SharedToken:
        """At start: keep the shared token when it is `token`, or a later-expiring live one
        (the owner restarted after a renewal: its configured token is dead); else publish `token`."""
        current = await read_shared(self._bus, self._cipher)
        if current is not None:
            self.version = current.version
            same = current.token.get_secret_value() == token.get_secret_value()
            if same or (not current.expired(now) and _later(current.expires_at, expires_at)):
                log.info("shared_token_adopted", version=current.version, same_as_configured=same)
                return current
        return await self.publish(token, expires_at)

    async def publish(self, token: SecretStr, expires_at: datetime | None) -> SharedToken:
        shared = SharedToken(token, self.version + 1, expires_at)
        await self._bus.kv_put(DHAN_ACCESS_TOKEN_KEY, self._cipher.seal(shared), bucket=CREDENTIALS_BUCKET)
        self.version = shared.version
        log.info("shared_token_published", version=shared.version)
        return shared


def _later(shared: datetime | None, configured: datetime | None) -> bool:
    if shared is None:
        return False
    return configured is None or shared > configured


class TokenFollower:
    """A consumer's side: hand every newer, unexpired shared token to `sink`."""

    def __init__(self, bus: Bus, cipher: TokenCipher, clock: Clock, sink: TokenSink) -> None:
        self._bus = bus
        self._cipher = cipher
        self._clock = clock
        self._sink = sink
        self.version = 0  # 0: the configured token

    def offer(self, shared: SharedToken) -> bool:
        """Apply `shared` if it is newer than what we hold and still valid; True if applied."""
        if shared.version <= self.version:
            return False
        if shared.expired(self._clock.now()):
            log.warning("shared_token_expired_ignored", version=shared.version)
            return False
        self.version = shared.version
        self._sink(shared.token)
        log.info("shared_token_applied", version=shared.version)
        return True

    async def follow(self) -> None:
        async for entry in self._bus.kv_watch(DHAN_ACCESS_TOKEN_KEY, bucket=CREDENTIALS_BUCKET):
            if entry.value and (shared := _opened(entry, self._cipher)) is not None:
                self.offer(shared)


@asynccontextmanager
async def following_token(
    bus: Bus, key: SecretStr | None, clock: Clock, sink: TokenSink, *, tasks: BackgroundTasks
) -> AsyncIterator[TokenFollower | None]:
    """Follow the shared token for as long as the block runs (the current one is applied before
    the block starts); with no key, token sharing is off and the configured token stays.

    The watch runs as the service's task `token-follower`: if it dies, the service is not ready
    (it would go on with a token that Dhan may already have replaced)."""
    if key is None:
        log.warning("token_sharing_off", reason="no SARATHI_TOKEN_KEY")
        yield None
        return
    cipher = TokenCipher(key)
    follower = TokenFollower(bus, cipher, clock, sink)
    current = await read_shared(bus, cipher)
    if current is not None:
        follower.offer(current)
    tasks.start(FOLLOWER_TASK, follower.follow())
    try:
        yield follower
    finally:
        await tasks.cancel(FOLLOWER_TASK)
