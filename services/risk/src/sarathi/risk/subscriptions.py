"""Ticks of the held contracts: a core subscription on `md.tick.<seg>.<id>` plus the feed's hold.

`hold` subscribes once per contract; a feed request that failed is retried by `retry()` (the
guardian calls it on every check). `release` ends both once nothing holds the contract (no open
position, no accepted entry waiting).
"""

from __future__ import annotations

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, Handler, Subscription
from sarathi.common.domain.instruments import ContractKey
from sarathi.common.messages.market import Tick
from sarathi.risk.adapters.feed import FeedLink
from sarathi.risk.metrics import RiskMetrics


class TickSubscriptions:
    def __init__(self, bus: Bus, feed: FeedLink, on_tick: Handler[Tick], metrics: RiskMetrics) -> None:
        self._bus = bus
        self._feed = feed
        self._on_tick = on_tick
        self._metrics = metrics
        self._subscriptions: dict[ContractKey, Subscription] = {}
        self._feed_held: set[ContractKey] = set()

    @property
    def held(self) -> set[ContractKey]:
        return set(self._subscriptions)

    async def hold(self, contract: ContractKey) -> None:
        if contract not in self._subscriptions:
            subject = subjects.tick(contract.segment, contract.security_id)
            self._subscriptions[contract] = await self._bus.subscribe(subject, self._on_tick, accepts=Tick)
        await self._hold_at_feed(contract)

    async def _hold_at_feed(self, contract: ContractKey) -> None:
        if contract in self._feed_held:
            return
        if await self._feed.subscribe(contract):
            self._feed_held.add(contract)
        else:
            self._metrics.feed_errors.labels("subscribe").inc()

    async def retry(self) -> None:
        for contract in list(self._subscriptions):
            await self._hold_at_feed(contract)

    async def release(self, contract: ContractKey, *, feed_anyway: bool = False) -> None:
        """Stop the contract's ticks. `feed_anyway`: ask the feed to let go even when this process
        does not know it holds the contract (a hold taken before a restart); the feed ignores the
        release of a contract its requester does not hold."""
        subscription = self._subscriptions.pop(contract, None)
        if subscription is not None:
            await subscription.stop()
        if contract in self._feed_held or feed_anyway:
            self._feed_held.discard(contract)
            if not await self._feed.unsubscribe(contract):
                self._metrics.feed_errors.labels("unsubscribe").inc()

    async def close(self) -> None:
        for subscription in self._subscriptions.values():
            await subscription.stop()
        self._subscriptions.clear()
