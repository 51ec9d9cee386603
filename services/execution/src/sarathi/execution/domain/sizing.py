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
- The loss bound, in every mode: the entry's loss if its stop-loss leg fills, `(entry fill − stop
  fill) × quantity + the round trip's charges` (the one charges function, `ChargesCalculator`),
  is at most `min(risk_per_trade_inr, what is left of today's loss budget)`; fixed lots are cut
  down to fit, and an entry whose first lot does not fit is refused (gate `loss_budget`).
  What the bound covers: the loss AT the stop price plus charges, widened by an allowance for
  slippage (`stop_slippage_percent`: the stop leg is a stop-loss-market order once triggered and
  fills at the bid, below the stop when the price gaps; a MARKET entry is assumed to fill that
  much above the ask). A fill worse than the allowance, or a gap through the stop larger than it,
  is not covered. The budget passed in is already net of what open positions and pending entries
  could still lose at their stops (`open_risk.py`), so entries stopping out together stay within
  the day's limit too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sarathi.common.domain.charges import ChargeRatesUnavailableError, ChargesCalculator
from sarathi.common.domain.instruments import Exchange
from sarathi.common.domain.money import OPTION_TICK, Rounding, round_to_tick, to_paise_precision
from sarathi.common.domain.trading import EntryOrderType
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
    risk_per_trade_inr: Decimal = Decimal("5000")
    max_lots: int = 10
    order_type: EntryOrderType = EntryOrderType.LIMIT
    target_kind: OffsetKind = OffsetKind.PERCENT
    target_value: Decimal = Decimal("30")
    stop_loss_kind: OffsetKind = OffsetKind.PERCENT
    stop_loss_value: Decimal = Decimal("20")
    trailing_jump: Decimal = Decimal("0")
    max_capital_per_trade_inr: Decimal = Decimal("50000")
    stop_slippage_percent: Decimal = Decimal("2")

    def __post_init__(self) -> None:
        if self.lots < 1 or self.max_lots < 1:
            raise ValueError("lots and max_lots must be at least 1")
        if self.risk_per_trade_inr <= 0:
            raise ValueError("risk_per_trade_inr must be positive")
        if not 0 <= self.stop_slippage_percent < _HUNDRED:
            raise ValueError("stop_slippage_percent lies in [0, 100)")
        if self.target_value <= 0 or self.stop_loss_value <= 0 or self.trailing_jump < 0:
            raise ValueError("target and stop-loss offsets must be positive, trailing_jump not negative")
        if self.stop_loss_kind is OffsetKind.PERCENT and self.stop_loss_value >= _HUNDRED:
            raise ValueError("a stop-loss of 100% or more of the premium is no stop")


@dataclass(frozen=True, slots=True)
class StopLossCost:
    """What an entry loses if its stop-loss leg fills: the premium lost plus the round trip's
    charges (buy and sell on `trade_date`, one contract note, `exchange`'s rates)."""

    exchange: Exchange
    trade_date: date
    calculator: ChargesCalculator = field(default_factory=ChargesCalculator)

    def loss(self, entry_fill: Decimal, stop_fill: Decimal, quantity: int) -> Decimal:
        trip = self.calculator.round_trip(entry_fill, stop_fill, quantity, self.exchange, self.trade_date)
        return to_paise_precision(-trip.net_pnl)  # exact: prices on the tick, charges on the paisa


@dataclass(frozen=True, slots=True)
class LossBound:
    """The loss bound of one entry: the cap and what the planned quantity loses at the stop."""

    cap: Decimal  # min(risk per trade, budget left)
    cap_source: str  # which of the two binds
    entry_fill: Decimal  # the entry price, or the ask plus the slippage allowance (MARKET)
    stop_fill: Decimal  # the stop price less the slippage allowance
    loss: Decimal  # of the planned quantity, charges included; ≤ cap

    def details(self) -> dict[str, str]:
        return {
            "loss_at_stop": str(self.loss), "loss_cap": str(self.cap), "loss_cap_source": self.cap_source,
            "assumed_entry_fill": str(self.entry_fill), "assumed_stop_fill": str(self.stop_fill),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class EntryPlan:
    order_type: EntryOrderType
    entry_price: Decimal
    target_price: Decimal
    stop_loss_price: Decimal
    trailing_jump: Decimal
    lots: int
    lot_size: int
    bound: LossBound
    lots_wanted: int  # before the caps and the loss bound

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


def assumed_fills(
    entry: Decimal, stop: Decimal, rules: SizingRules, tick: Decimal = OPTION_TICK
) -> tuple[Decimal, Decimal]:
    """Entry and stop fills the loss bound assumes: the stop `stop_slippage_percent` lower
    (rounded down, at least one tick); a MARKET entry that much higher (rounded up), a LIMIT one
    at its price (a buy limit never fills above it)."""
    slip = rules.stop_slippage_percent / _HUNDRED
    stop_fill = max(round_to_tick(stop * (1 - slip), tick, Rounding.DOWN), tick)
    entry_fill = round_to_tick(entry * (1 + slip), tick, Rounding.UP)
    if rules.order_type is EntryOrderType.LIMIT:
        entry_fill = entry
    return to_paise_precision(entry_fill), to_paise_precision(stop_fill)  # on the tick: exact


def plan_entry(
    ask: Decimal,
    lot_size: int,
    rules: SizingRules,
    *,
    budget_left: Decimal,
    cost: StopLossCost,
    tick: Decimal = OPTION_TICK,
    freeze_quantity: int | None = None,
) -> Outcome[EntryPlan]:
    """Prices and lots of one entry at `ask`, or why it cannot be sized.

    `budget_left` is what is left of today's loss budget (risk's figure); the loss at the stop of
    the planned quantity, charges included, never exceeds it nor `rules.risk_per_trade_inr`.
    """
    if ask <= 0 or lot_size <= 0:
        return Refused(Gate.SIZING, f"cannot size: ask {ask}, lot size {lot_size}")
    entry = entry_price(ask, tick)
    target = target_price(entry, rules.target_kind, rules.target_value, tick)
    stop = stop_loss_price(entry, rules.stop_loss_kind, rules.stop_loss_value, tick)
    if stop <= 0:
        return Refused(Gate.SIZING, f"stop-loss {stop} would not be above zero for entry {entry}")
    entry_fill, stop_fill = assumed_fills(entry, stop, rules, tick)
    if rules.risk_per_trade_inr <= budget_left:
        cap, source = rules.risk_per_trade_inr, "risk per trade"
    else:
        cap, source = max(budget_left, Decimal(0)), "daily loss budget left"
    try:
        one_lot = cost.loss(entry_fill, stop_fill, lot_size)
    except ChargeRatesUnavailableError as exc:
        return Refused(Gate.SIZING, f"cannot price the charges: {exc}")
    figures = {
        "loss_cap": str(cap), "loss_cap_source": source, "one_lot_loss_at_stop": str(one_lot),
        "assumed_entry_fill": str(entry_fill), "assumed_stop_fill": str(stop_fill),
    }  # fmt: skip
    if one_lot > cap:
        return Refused(
            Gate.LOSS_BUDGET,
            f"one lot ({lot_size}) bought at {entry_fill} would lose ₹{one_lot} if stopped out at "
            f"{stop_fill} (stop {to_paise_precision(stop)} less {rules.stop_slippage_percent}% "
            f"slippage, charges included): more than the ₹{cap} of {source}",
            figures,
        )
    lot_cost = entry * lot_size
    caps = {
        "max_lots": rules.max_lots,
        "capital": int(rules.max_capital_per_trade_inr // lot_cost),
    }
    if freeze_quantity is not None and freeze_quantity > 0:
        caps["freeze"] = (freeze_quantity - 1) // lot_size
    wanted = (
        rules.lots if rules.mode is SizingMode.LOTS else int(cap // ((entry_fill - stop_fill) * lot_size))
    )
    lots = min(wanted, *caps.values())
    if lots < 1:
        binding = min(caps, key=lambda name: caps[name])
        return Refused(
            Gate.SIZING,
            f"not even one lot fits ({binding}): lot of {lot_size} at {entry} costs ₹{lot_cost}",
            {"wanted": wanted, **caps},
        )
    loss = cost.loss(entry_fill, stop_fill, lots * lot_size)
    while loss > cap:  # charges make the loss grow a little faster than the lots: step down
        lots -= 1
        loss = cost.loss(entry_fill, stop_fill, lots * lot_size)
    bound = LossBound(cap, source, entry_fill, stop_fill, loss)
    jump = round_to_tick(rules.trailing_jump, tick, Rounding.NEAREST)
    return Allowed(EntryPlan(rules.order_type, entry, target, stop, jump, lots, lot_size, bound, wanted))
