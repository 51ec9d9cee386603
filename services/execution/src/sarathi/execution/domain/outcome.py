"""What every gate and every selection step answers: allowed (with a value) or refused with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Gate(StrEnum):
    """The step that refused an entry; stored with every refusal, served by `GET /decisions`."""

    DUPLICATE = "duplicate"
    SIGNAL = "signal"  # neutral or malformed signal
    TRADING_STATE = "trading_state"
    HOLIDAY = "holiday"
    ENTRY_WINDOW = "entry_window"
    SIGNAL_AGE = "signal_age"
    DAILY_LOSS = "daily_loss"
    LOSS_BUDGET = "loss_budget"  # no fresh figure from risk, none left, or one lot loses more at its stop
    PYRAMIDING = "pyramiding"
    EXPIRY = "expiry"
    CHAIN = "chain"
    STALE_PRICE = "stale_price"
    STRIKE = "strike"
    REFDATA = "refdata"
    SIZING = "sizing"
    CAPITAL = "capital"
    EXPOSURE = "exposure"


@dataclass(frozen=True, slots=True)
class Allowed(Generic[T]):
    """The step passed; `value` is what it produced (a strike, a plan), or None for a pure check."""

    value: T


@dataclass(frozen=True, slots=True)
class Refused:
    """The step refused: which gate, a sentence a trader can read, and the numbers behind it."""

    gate: Gate
    reason: str
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


Outcome = Allowed[T] | Refused

PASS: Allowed[None] = Allowed(None)
"""A check that passed and produced nothing."""
