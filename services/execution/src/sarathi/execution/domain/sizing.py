"""Sizing and prices of a Super Order entry: whole lots, absolute prices on the tick.

- Entry: a LIMIT at the ask rounded UP to the tick (a buyer who rounds down may never fill), or
  a MARKET order whose reference price is that same rounded ask.
- Target and stop-loss: percent of the entry premium or points from it, rounded in the safe
  direction: the stop UP (the loss never exceeds what the settings allow; also what risk sizing
  assumes), the target DOWN (never promises more than the settings say). Each stays at least one
  tick away from the entry, and the stop above zero.
- Lots: a fixed number (`lots`), or as many as keep the loss at the stop within
  `risk_per_trade_inr` (`risk`); then capped by `max_lots`, by the capital per trade and by the
  exchange freeze quantity (an order at or above it would need slicing). No lot → refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sarathi.common.domain.money import OPTION_TICK, Rounding, round_to_tick
from sarathi.common.messages.fields import EntryOrderType
from sarathi.execution.domain.outcome import Allowed, Gate, Outcome, Refused

_HUNDRED = Decimal(100)


class SizingMode(StrEnum):
    LOTS = "lots"  # a fixed number of lots per entry
    RISK = "risk"  # lots from the rupees at risk between entry and stop


class OffsetKind(StrEnum):
    PERCENT = "percent"  # of the entry premium
    POINTS = "points"  # rupees of premium


@dataclass(frozen=True, slots=True)
class SizingRules:
    mode: SizingMode = SizingMode.LOTS
    lots: int = 1
    risk_per_trade_inr: Decimal = Decimal("2000")
    max_lots: int = 10
    order_type: EntryOrderType = EntryOrderType.LIMIT
    target_kind: OffsetKind = OffsetKind.PERCENT
    target_value: Decimal = Decimal("30")
    stop_loss_kind: OffsetKind = OffsetKind.PERCENT
    stop_loss_value: Decimal = Decimal("20")
    trailing_jump: Decimal = Decimal("0")
    max_capital_per_trade_inr: Decimal = Decimal("50000")

    def __post_init__(self) -> None:
        if self.lots < 1 or self.max_lots < 1:
            raise ValueError("lots and max_lots must be at least 1")
        if self.target_value <= 0 or self.stop_loss_value <= 0 or self.trailing_jump < 0:
            raise ValueError("target and stop-loss offsets must be positive, trailing_jump not negative")
        if self.stop_loss_kind is OffsetKind.PERCENT and self.stop_loss_value >= _HUNDRED:
            raise ValueError("a stop-loss of 100% or more of the premium is no stop")


@dataclass(frozen=True, slots=True)
class EntryPlan:
    order_type: EntryOrderType
    entry_price: Decimal
    target_price: Decimal
    stop_loss_price: Decimal
    trailing_jump: Decimal
    lots: int
    lot_size: int

    @property
    def quantity(self) -> int:
        return self.lots * self.lot_size

    @property
    def cost(self) -> Decimal:
        return self.entry_price * self.quantity


def entry_price(ask: Decimal, tick: Decimal = OPTION_TICK) -> Decimal:
    """The buyer's limit: the ask, rounded up to the tick."""
    return round_to_tick(ask, tick, Rounding.UP)


def target_price(entry: Decimal, kind: OffsetKind, value: Decimal, tick: Decimal = OPTION_TICK) -> Decimal:
    raw = entry * (1 + value / _HUNDRED) if kind is OffsetKind.PERCENT else entry + value
    return max(round_to_tick(raw, tick, Rounding.DOWN), entry + tick)


def stop_loss_price(entry: Decimal, kind: OffsetKind, value: Decimal, tick: Decimal = OPTION_TICK) -> Decimal:
    """May be zero or less for a tiny premium and a points stop: the caller refuses that."""
    raw = entry * (1 - value / _HUNDRED) if kind is OffsetKind.PERCENT else entry - value
    return min(round_to_tick(raw, tick, Rounding.UP), entry - tick)


def plan_entry(
    ask: Decimal,
    lot_size: int,
    rules: SizingRules,
    *,
    tick: Decimal = OPTION_TICK,
    freeze_quantity: int | None = None,
) -> Outcome[EntryPlan]:
    """Prices and lots of one entry at `ask`, or why it cannot be sized."""
    if ask <= 0 or lot_size <= 0:
        return Refused(Gate.SIZING, f"cannot size: ask {ask}, lot size {lot_size}")
    entry = entry_price(ask, tick)
    target = target_price(entry, rules.target_kind, rules.target_value, tick)
    stop = stop_loss_price(entry, rules.stop_loss_kind, rules.stop_loss_value, tick)
    if stop <= 0:
        return Refused(Gate.SIZING, f"stop-loss {stop} would not be above zero for entry {entry}")
    lot_cost = entry * lot_size
    caps = {
        "max_lots": rules.max_lots,
        "capital": int(rules.max_capital_per_trade_inr // lot_cost),
    }
    if freeze_quantity is not None and freeze_quantity > 0:
        caps["freeze"] = (freeze_quantity - 1) // lot_size
    wanted = (
        rules.lots
        if rules.mode is SizingMode.LOTS
        else int(rules.risk_per_trade_inr // ((entry - stop) * lot_size))
    )
    lots = min(wanted, *caps.values())
    if lots < 1:
        binding = "risk per trade" if wanted < 1 else min(caps, key=lambda name: caps[name])
        return Refused(
            Gate.SIZING,
            f"not even one lot fits ({binding}): lot of {lot_size} at {entry} costs ₹{lot_cost}",
            {"wanted": wanted, **caps},
        )
    jump = round_to_tick(rules.trailing_jump, tick, Rounding.NEAREST)
    return Allowed(EntryPlan(rules.order_type, entry, target, stop, jump, lots, lot_size))
