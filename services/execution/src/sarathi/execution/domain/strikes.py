"""Strike selection: among strikes near ATM on the signal's side, the most liquid acceptable one.

Candidates are the listed strikes within `strikes_around_atm` steps of the ATM strike (steps of
the chain's own strike ladder, so sparser far strikes are not a problem). A candidate is
acceptable when its OI, volume, bid-ask spread, |delta| and premium pass the rules. Acceptable
candidates are ranked by liquidity: traded volume, then open interest, then the tighter spread,
then the nearer to ATM (then the lower strike, so the choice is deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sarathi.common.domain.instruments import OptionType
from sarathi.common.domain.trading import Direction
from sarathi.execution.domain.chain import OptionChain, OptionQuote
from sarathi.execution.domain.outcome import Allowed, Gate, Outcome, Refused


@dataclass(frozen=True, slots=True)
class StrikeRules:
    strikes_around_atm: int = 3
    min_oi: int = 100_000
    min_volume: int = 10_000
    max_spread_ratio: Decimal = Decimal("0.02")
    min_abs_delta: Decimal = Decimal("0.25")
    max_abs_delta: Decimal = Decimal("0.70")
    min_premium: Decimal = Decimal("5")

    def __post_init__(self) -> None:
        if self.strikes_around_atm < 0 or self.min_oi < 0 or self.min_volume < 0:
            raise ValueError("strikes_around_atm, min_oi and min_volume must not be negative")
        if not 0 <= self.min_abs_delta <= self.max_abs_delta <= 1:
            raise ValueError("need 0 ≤ min_abs_delta ≤ max_abs_delta ≤ 1")


def option_type_for(direction: Direction) -> OptionType | None:
    """Bullish buys calls, bearish buys puts, neutral buys nothing."""
    return {Direction.BULLISH: OptionType.CALL, Direction.BEARISH: OptionType.PUT}.get(direction)


def exclusion(quote: OptionQuote, rules: StrikeRules) -> str | None:
    """Why `quote` is not acceptable, or None when it is."""
    spread = quote.spread_ratio
    reasons = (
        (quote.oi < rules.min_oi, f"OI {quote.oi} < {rules.min_oi}"),
        (quote.volume < rules.min_volume, f"volume {quote.volume} < {rules.min_volume}"),
        (spread is None, f"no two-sided market (bid {quote.bid}, ask {quote.ask})"),
        (spread is not None and spread > rules.max_spread_ratio,
         f"spread {_pct(spread or Decimal(0))} > {_pct(rules.max_spread_ratio)}"),
        (not rules.min_abs_delta <= abs(quote.delta) <= rules.max_abs_delta,
         f"|delta| {abs(quote.delta)} outside [{rules.min_abs_delta}, {rules.max_abs_delta}]"),
        (quote.ask < rules.min_premium, f"ask {quote.ask} < minimum premium {rules.min_premium}"),
    )  # fmt: skip
    return next((text for failed, text in reasons if failed), None)


def candidates(chain: OptionChain, option_type: OptionType, rules: StrikeRules) -> list[OptionQuote]:
    """The quotes of `option_type` within `strikes_around_atm` listed strikes of ATM."""
    atm = chain.atm_strike()
    if atm is None:
        return []
    ladder = sorted({q.strike for q in chain.quotes})
    centre = ladder.index(atm)
    near = set(ladder[max(0, centre - rules.strikes_around_atm) : centre + rules.strikes_around_atm + 1])
    return [q for q in chain.side(option_type) if q.strike in near]


def liquidity_key(quote: OptionQuote, atm: Decimal) -> tuple[int, int, Decimal, Decimal, Decimal]:
    """Sort key, most liquid first."""
    spread = quote.spread_ratio if quote.spread_ratio is not None else Decimal("Infinity")
    return (-quote.volume, -quote.oi, spread, abs(quote.strike - atm), quote.strike)


def select_strike(chain: OptionChain, option_type: OptionType, rules: StrikeRules) -> Outcome[OptionQuote]:
    """The most liquid acceptable strike, or a refusal listing why each candidate was excluded."""
    atm = chain.atm_strike()
    near = candidates(chain, option_type, rules)
    if atm is None or not near:
        return Refused(
            Gate.STRIKE, f"the {chain.underlying} {chain.expiry} chain lists no {option_type} near ATM"
        )
    acceptable = [q for q in near if exclusion(q, rules) is None]
    if not acceptable:
        excluded: list[dict[str, Any]] = [
            {"strike": str(q.strike), "security_id": q.security_id, "excluded": exclusion(q, rules)}
            for q in near
        ]
        return Refused(
            Gate.STRIKE,
            f"no liquid {option_type} within {rules.strikes_around_atm} strikes of ATM {atm}",
            {"atm": str(atm), "candidates": excluded},
        )
    return Allowed(min(acceptable, key=lambda q: liquidity_key(q, atm)))


def _pct(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('0.01'))}%"
