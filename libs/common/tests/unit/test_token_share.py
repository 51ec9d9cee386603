"""The shared Dhan token: sealed on the bus, newer versions only, the owner's choice at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sarathi.common.bus.memory import InMemoryBus
from sarathi.common.bus.port import KvEntry
from sarathi.common.bus.streams import CREDENTIALS_BUCKET, DHAN_ACCESS_TOKEN_KEY
from sarathi.common.clock import IST, FakeClock
from sarathi.common.dhan.token_share import (
    SharedToken,
    TokenCipher,
    TokenFollower,
    TokenPublisher,
    TokenShareError,
    following_token,
    read_shared,
)
from sarathi.common.tasks import BackgroundTasks
from sarathi.common.web import NotReadyError

NOW = datetime(2026, 9, 15, 10, 0, tzinfo=IST)
KEY = SecretStr(Fernet.generate_key().decode())


def a_token(value: str, version: int, *, hours_left: float | None = 20) -> SharedToken:
    expiry = None if hours_left is None else NOW + timedelta(hours=hours_left)
    return SharedToken(SecretStr(value), version, expiry)


async def a_bus() -> InMemoryBus:
    bus = InMemoryBus(clock=FakeClock(NOW))
    await bus.ensure_streams()
    return bus


def test_a_sealed_token_opens_with_its_key_only_and_never_shows_the_token() -> None:
    sealed = TokenCipher(KEY).seal(a_token("secret-jwt", 3))
    assert b"secret-jwt" not in sealed
    opened = TokenCipher(KEY).open(sealed)
    assert (opened.token.get_secret_value(), opened.version) == ("secret-jwt", 3)
    assert "secret-jwt" not in repr(opened)
    with pytest.raises(TokenShareError, match="does not open"):
        TokenCipher(SecretStr(Fernet.generate_key().decode())).open(sealed)
    with pytest.raises(TokenShareError, match="not a Fernet key"):
        TokenCipher(SecretStr("short"))


def test_a_follower_applies_only_newer_unexpired_versions() -> None:
    applied: list[str] = []
    follower = TokenFollower(
        InMemoryBus(), TokenCipher(KEY), FakeClock(NOW), lambda t: applied.append(t.get_secret_value())
    )
    assert follower.offer(a_token("v2", 2))
    assert not follower.offer(a_token("v1", 1))  # older: a stale record must not undo a renewal
    assert not follower.offer(a_token("v2-again", 2))
    assert not follower.offer(a_token("v3-dead", 3, hours_left=-1))
    assert follower.offer(a_token("v4", 4, hours_left=None))  # expiry unknown: taken
    assert applied == ["v2", "v4"]


async def test_the_owner_publishes_its_token_then_each_renewal_with_the_next_version() -> None:
    bus = await a_bus()
    owner = TokenPublisher(bus, TokenCipher(KEY))
    first = await owner.adopt_or_publish(SecretStr("configured"), None, NOW)
    renewed = await owner.publish(SecretStr("renewed"), NOW + timedelta(hours=24))
    assert (first.version, renewed.version) == (1, 2)
    shared = await read_shared(bus, TokenCipher(KEY))
    assert shared is not None
    assert shared.token.get_secret_value() == "renewed"


async def test_a_restarted_owner_keeps_the_renewed_token_over_its_dead_configured_one() -> None:
    bus = await a_bus()
    await TokenPublisher(bus, TokenCipher(KEY)).publish(SecretStr("renewed"), NOW + timedelta(hours=23))
    restarted = TokenPublisher(bus, TokenCipher(KEY))
    kept = await restarted.adopt_or_publish(SecretStr("configured"), NOW + timedelta(hours=1), NOW)
    assert kept.token.get_secret_value() == "renewed"
    # An operator's newer token (later expiry) replaces it, with the next version.
    fresh = await restarted.adopt_or_publish(SecretStr("operator"), NOW + timedelta(hours=24), NOW)
    assert (fresh.token.get_secret_value(), fresh.version) == ("operator", 2)


async def test_a_record_sealed_with_another_key_is_ignored_and_overwritten_by_the_owner() -> None:
    bus = await a_bus()
    other = TokenCipher(SecretStr(Fernet.generate_key().decode()))
    await bus.kv_put(DHAN_ACCESS_TOKEN_KEY, other.seal(a_token("x", 9)), bucket=CREDENTIALS_BUCKET)
    assert await read_shared(bus, TokenCipher(KEY)) is None
    mine = await TokenPublisher(bus, TokenCipher(KEY)).adopt_or_publish(SecretStr("configured"), None, NOW)
    assert (mine.token.get_secret_value(), mine.version) == ("configured", 1)


async def test_following_applies_the_current_token_at_once_then_each_renewal() -> None:
    bus = await a_bus()
    owner = TokenPublisher(bus, TokenCipher(KEY))
    await owner.publish(SecretStr("first"), None)
    applied: list[str] = []
    tasks = BackgroundTasks("test")
    async with following_token(
        bus, KEY, FakeClock(NOW), lambda t: applied.append(t.get_secret_value()), tasks=tasks
    ):
        assert applied == ["first"]
        await owner.publish(SecretStr("second"), NOW + timedelta(hours=24))
        async with asyncio.timeout(2):
            while applied != ["first", "second"]:  # noqa: ASYNC110 - the watch task delivers
                await asyncio.sleep(0.01)


async def test_without_a_key_sharing_is_off_and_the_configured_token_stays() -> None:
    applied: list[str] = []
    async with following_token(
        await a_bus(),
        None,
        FakeClock(NOW),
        lambda t: applied.append(t.get_secret_value()),
        tasks=BackgroundTasks("t"),
    ) as follower:
        assert follower is None
    assert applied == []


class _WatchLostBus(InMemoryBus):
    """The KV watch ends with an error (a NATS connection lost for good)."""

    async def kv_watch(self, key: str, *, bucket: str = "") -> AsyncIterator[KvEntry]:
        raise ConnectionError("watch lost")
        yield  # an async generator, like the real one


async def test_a_follower_whose_watch_dies_makes_its_service_not_ready() -> None:
    bus = _WatchLostBus(clock=FakeClock(NOW))
    await bus.ensure_streams()
    tasks = BackgroundTasks("test")
    async with following_token(bus, KEY, FakeClock(NOW), lambda _: None, tasks=tasks):
        async with asyncio.timeout(2):
            while not tasks.dead:  # noqa: ASYNC110 - the task ends on its own
                await asyncio.sleep(0.01)
        with pytest.raises(NotReadyError, match="task token-follower died: ConnectionError: watch lost"):
            await tasks.ready()
    await tasks.ready()  # leaving the block stops following on purpose: not a death
