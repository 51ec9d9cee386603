"""Strike selection: candidates near ATM on the signal's side, liquidity filters, liquidity ranking."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import OptionType, SecurityId, Underlying
from sarathi.common.domain.trading import Direction
from sarathi.execution.domain.chain import OptionChain, OptionQuote
from sarathi.execution.domain.outcome import Allowed, Gate, Refused
from sarathi.execution.domain.strikes import StrikeRules, option_type_for, select_strike

EXPIRY = date(2026, 9, 22)
AT = datetime(2026, 9, 15, 10, 0, tzinfo=IST)


def a_quote(strike: int, option_type: OptionType = OptionType.CALL, **changes: object) -> OptionQuote:
    values: dict[str, object] = {
        "strike": Decimal(strike), "option_type": option_type,
        "security_id": SecurityId(f"{strike}{option_type}"),
        "bid": Decimal("100.00"), "ask": Decimal("100.50"), "ltp": Decimal("100.25"), "oi": 1_000_000,
        "volume": 500_000, "delta": Decimal("0.5") if option_type is OptionType.CALL else Decimal("-0.5"),
    }  # fmt: skip
    values.update(changes)
    return OptionQuote(**values)  # type: ignore[arg-type]


def a_chain(*quotes: OptionQuote, level: str = "24010") -> OptionChain:
    return OptionChain(Underlying.NIFTY, EXPIRY, Decimal(level), quotes, AT)


def test_bullish_buys_calls_bearish_buys_puts_neutral_buys_nothing() -> None:
    assert option_type_for(Direction.BULLISH) is OptionType.CALL
    assert option_type_for(Direction.BEARISH) is OptionType.PUT
    assert option_type_for(Direction.NEUTRAL) is None


def test_the_most_traded_acceptable_strike_wins() -> None:
    chain = a_chain(
        a_quote(23950, volume=400_000), a_quote(24000, volume=900_000), a_quote(24050, volume=700_000)
    )
    assert select_strike(chain, OptionType.CALL, StrikeRules()) == Allowed(chain.quotes[1])


def test_equal_volume_falls_back_to_open_interest_then_spread_then_nearness_to_atm() -> None:
    by_oi = a_chain(a_quote(23950, oi=2_000_000), a_quote(24000))
    assert select_strike(by_oi, OptionType.CALL, StrikeRules()) == Allowed(by_oi.quotes[0])
    by_spread = a_chain(a_quote(23950), a_quote(24000, ask=Decimal("100.10")))
    assert select_strike(by_spread, OptionType.CALL, StrikeRules()) == Allowed(by_spread.quotes[1])
    by_distance = a_chain(a_quote(23950), a_quote(24000), a_quote(24050))
    assert select_strike(by_distance, OptionType.CALL, StrikeRules()) == Allowed(by_distance.quotes[1])


def test_only_strikes_within_n_steps_of_atm_are_candidates() -> None:
    far = a_quote(24300, volume=9_000_000)
    chain = a_chain(*(a_quote(s) for s in range(23850, 24200, 50)), far)
    chosen = select_strike(chain, OptionType.CALL, StrikeRules(strikes_around_atm=2))
    assert isinstance(chosen, Allowed)
    assert chosen.value.strike != far.strike
    assert Decimal(23900) <= chosen.value.strike <= Decimal(24100)


def test_the_signal_side_only_is_considered() -> None:
    chain = a_chain(a_quote(24000, OptionType.PUT, volume=9_000_000), a_quote(24000))
    assert select_strike(chain, OptionType.CALL, StrikeRules()) == Allowed(chain.quotes[1])


def test_each_liquidity_filter_excludes_a_strike_and_says_why() -> None:
    rules = StrikeRules()
    cases = {
        "OI": a_quote(24000, oi=10), "volume": a_quote(24000, volume=10),
        "spread": a_quote(24000, bid=Decimal("90"), ask=Decimal("110")),
        "two-sided": a_quote(24000, bid=Decimal("0")), "delta": a_quote(24000, delta=Decimal("0.9")),
        "premium": a_quote(24000, bid=Decimal("1.00"), ask=Decimal("1.00")),
    }  # fmt: skip
    for word, quote in cases.items():
        refused = select_strike(a_chain(quote), OptionType.CALL, rules)
        assert isinstance(refused, Refused)
        assert refused.gate is Gate.STRIKE
        assert word in refused.details["candidates"][0]["excluded"], word


def test_an_empty_side_is_refused() -> None:
    refused = select_strike(a_chain(a_quote(24000, OptionType.PUT)), OptionType.CALL, StrikeRules())
    assert isinstance(refused, Refused)
    assert "no CE near ATM" in refused.reason
