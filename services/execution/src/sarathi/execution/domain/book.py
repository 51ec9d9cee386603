"""The pyramiding state: open positions (from `position.evt.*`) and our own entries not yet filled.

A *campaign* is what one underlying holds from its first entry until it is flat again: its
direction (the option type of the first entry), how many entries it has had (the entry and the
pyramids) and the signal bar of the latest one. An entry counts from the moment its submit
command is published (`record_entry`), so a second signal cannot slip in while the first order
is still on its way; the position event that follows consumes the pending entry instead of
counting again. An entry the broker rejected stops counting at once (`entry_rejected`), one
nobody filled is forgotten after a TTL (`expire_pending`), and a campaign ends when its
underlying has neither positions nor pending entries.

Applying the same event twice changes nothing (events are counted by message id), so a
redelivered event after a crash is harmless.

For the loss bound the book also remembers each entry's stop: a pending entry carries its
assumed stop fill and its planned loss at the stop; once filled, its (quantity, stop fill) is kept
per contract in `stops` until the position closes (`domain/open_risk.py` uses both).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sarathi.common.domain.instruments import OptionType, Underlying

_REMEMBERED_EVENTS = 2000


@dataclass(slots=True)
class HeldPosition:
    security_id: str
    segment: str
    underlying: Underlying
    option_type: OptionType | None
    net_quantity: int
    average_price: Decimal


@dataclass(frozen=True, slots=True)
class StopLevel:
    """A filled entry's stop: `quantity` units the stop leg sells at about `stop_fill`."""

    quantity: int
    stop_fill: Decimal


@dataclass(frozen=True, slots=True)
class PendingEntry:
    command_id: str
    security_id: str
    underlying: Underlying
    option_type: OptionType
    bar_close: datetime
    quantity: int
    entry_price: Decimal
    submitted_at: datetime
    stop_fill: Decimal | None = None  # the stop less the slippage allowance (None: unknown)
    loss_at_stop: Decimal | None = None  # planned loss if stopped out, charges included

    @property
    def cost(self) -> Decimal:
        return self.entry_price * self.quantity


@dataclass(slots=True)
class Campaign:
    option_type: OptionType | None = None
    entries: int = 0
    last_bar: datetime | None = None


@dataclass
class PositionBook:
    positions: dict[str, HeldPosition] = field(default_factory=dict)
    pending: dict[str, PendingEntry] = field(default_factory=dict)
    campaigns: dict[Underlying, Campaign] = field(default_factory=dict)
    daily_loss_day: date | None = None
    seen_events: deque[str] = field(default_factory=lambda: deque(maxlen=_REMEMBERED_EVENTS))
    stops: dict[str, list[StopLevel]] = field(default_factory=dict)

    # --- queries -------------------------------------------------------------------------------

    def campaign(self, underlying: Underlying) -> Campaign:
        return self.campaigns.get(underlying) or Campaign()

    def held(self, underlying: Underlying) -> list[HeldPosition]:
        return [p for p in self.positions.values() if p.underlying is underlying]

    def exposure(self) -> Decimal:
        """Premium at stake: open positions at their average price plus pending entries at their price."""
        held = sum((p.average_price * p.net_quantity for p in self.positions.values()), Decimal(0))
        return held + sum((e.cost for e in self.pending.values()), Decimal(0))

    # --- changes -------------------------------------------------------------------------------

    def record_entry(self, entry: PendingEntry) -> None:
        """Our submit command for `entry` was published: it counts from now."""
        if entry.command_id in self.pending:
            return
        self.pending[entry.command_id] = entry
        campaign = self.campaigns.setdefault(entry.underlying, Campaign())
        campaign.option_type = campaign.option_type or entry.option_type
        campaign.entries += 1
        campaign.last_bar = max(filter(None, (campaign.last_bar, entry.bar_close)))

    def position_opened_or_grew(self, event_id: str, position: HeldPosition) -> None:
        """A PositionOpened, or a PositionChanged whose quantity may have grown (a fill of an entry)."""
        if self._seen(event_id):
            return
        previous = self.positions.get(position.security_id)
        grew = previous is None or position.net_quantity > previous.net_quantity
        if position.option_type is None and previous is not None:
            position.option_type = previous.option_type
        self.positions[position.security_id] = position
        if not grew:
            return
        pending = next((e for e in self.pending.values() if e.security_id == position.security_id), None)
        if pending is not None:
            del self.pending[pending.command_id]  # counted when it was submitted
            if pending.stop_fill is not None:
                level = StopLevel(pending.quantity, pending.stop_fill)
                self.stops.setdefault(position.security_id, []).append(level)
            return
        campaign = self.campaigns.setdefault(position.underlying, Campaign())
        campaign.option_type = campaign.option_type or position.option_type
        campaign.entries += 1

    def position_closed(self, event_id: str, security_id: str, underlying: Underlying) -> None:
        if self._seen(event_id):
            return
        self.positions.pop(security_id, None)
        self.stops.pop(security_id, None)
        self._end_campaign_if_flat(underlying)

    def expire_pending(self, now: datetime, ttl: timedelta) -> list[PendingEntry]:
        """Forget entries submitted more than `ttl` ago that never became a position."""
        expired = [e for e in self.pending.values() if now - e.submitted_at > ttl]
        for entry in expired:
            del self.pending[entry.command_id]
            campaign = self.campaigns.get(entry.underlying)
            if campaign is not None:
                campaign.entries = max(0, campaign.entries - 1)
            self._end_campaign_if_flat(entry.underlying)
        return expired

    def entry_rejected(self, command_id: str) -> PendingEntry | None:
        """The broker refused our entry `command_id`: it no longer counts (None if not pending)."""
        entry = self.pending.pop(command_id, None)
        if entry is None:
            return None
        campaign = self.campaigns.get(entry.underlying)
        if campaign is not None:
            campaign.entries = max(0, campaign.entries - 1)
        self._end_campaign_if_flat(entry.underlying)
        return entry

    def daily_loss_breached(self, day: date) -> None:
        self.daily_loss_day = day

    def _end_campaign_if_flat(self, underlying: Underlying) -> None:
        pending = any(e.underlying is underlying for e in self.pending.values())
        if not self.held(underlying) and not pending:
            self.campaigns.pop(underlying, None)

    def _seen(self, event_id: str) -> bool:
        if event_id in self.seen_events:
            return True
        self.seen_events.append(event_id)
        return False
