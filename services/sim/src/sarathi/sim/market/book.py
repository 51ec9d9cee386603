"""The order book around a premium: spread, five levels of depth, volume and open interest.

Liquidity depends on standardised moneyness m = ln(K/S)/(σ√T): near the money it is deep and
tight, far out of the money thin and wide; cheap options get wider spreads in ticks; the nearest
expiry trades most. Volume follows the intraday activity curve, so it grows through the day;
OI drifts from the previous day's figure by a per-contract amount over the day.

All randomness is a hash of integers (splitmix64), so a book is a pure function of (seed,
contract, day or second). Quantities are whole lots, in units (Dhan's convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TICK = 0.05
DEPTH_LEVELS = 5
_MASK = (1 << 64) - 1

# Scale of each underlying's option activity relative to NIFTY (UNVERIFIED, order of magnitude).
ACTIVITY_SCALE = {"NIFTY": 1.0, "BANKNIFTY": 0.35, "SENSEX": 0.8}


def _splitmix(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def unit_noise(*keys: int) -> float:
    """A deterministic number in [0, 1) for the given integer keys."""
    state = 0
    for key in keys:
        state = _splitmix(state ^ (key & _MASK))
    return (state >> 11) / float(1 << 53)


def liquidity(std_moneyness: float) -> float:
    """1 at the money, falling to ~0.1 two and a half standard deviations away."""
    return math.exp(-0.5 * (std_moneyness / 1.2) ** 2)


def expiry_weight(days_to_expiry: float) -> float:
    """How much of the activity the contract's expiry attracts (nearest weekly the most)."""
    return 1.0 / (1.0 + max(days_to_expiry, 0.0) / 4.0)


@dataclass(frozen=True, slots=True)
class Level:
    price: float
    quantity: int
    orders: int


@dataclass(frozen=True, slots=True)
class Book:
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def spread_ticks(premium: float, liq: float, jitter: float) -> int:
    """Best ask − best bid, in ticks: 1–2 near the money, wider for cheap or far contracts."""
    ticks = 1 + round(4.0 * (1.0 - liq)) + (1 if premium < 5.0 else 0) + (1 if jitter > 0.8 else 0)
    if premium >= 100.0 and liq > 0.5:
        ticks = 1 + (1 if jitter > 0.7 else 0)
    return max(1, min(ticks, 20))


def build_book(ltp: float, liq: float, lot_size: int, keys: tuple[int, ...]) -> Book:
    """Five bid and five ask levels around `ltp` (which lies inside the best bid/ask)."""
    spread = spread_ticks(ltp, liq, unit_noise(*keys, 0))
    below = spread // 2
    best_bid = max(TICK, round(ltp / TICK - below) * TICK)
    best_ask = best_bid + spread * TICK
    if best_ask < ltp:  # ltp at the floor moved best_bid: keep ltp inside the quote
        best_ask = ltp + TICK
    bids: list[Level] = []
    asks: list[Level] = []
    for level in range(DEPTH_LEVELS):
        for side, best, sign, out in ((1, best_bid, -1, bids), (2, best_ask, 1, asks)):
            price = round((best + sign * level * TICK) / TICK) * TICK
            if price < TICK:
                out.append(Level(0.0, 0, 0))
                continue
            lots = 1 + int(unit_noise(*keys, side, level) * (2 + 60 * liq) * (1 + 0.4 * level))
            orders = max(1, lots // max(1, int(2 + 3 * unit_noise(*keys, side, level, 7))))
            out.append(Level(price, lots * lot_size, orders))
    return Book(tuple(bids), tuple(asks))


def day_volume_lots(liq: float, days_to_expiry: float, underlying: str, noise: float) -> int:
    """The contract's whole-day volume in lots (~1.5 M lots for a NIFTY weekly ATM)."""
    scale = ACTIVITY_SCALE.get(underlying, 0.5)
    return 20 + int(1.5e6 * scale * liq**1.5 * expiry_weight(days_to_expiry) * (0.6 + 0.8 * noise))


def previous_oi_lots(liq: float, days_to_expiry: float, underlying: str, noise: float) -> int:
    """Open interest at the previous close in lots (~60 k lots for a NIFTY weekly ATM)."""
    scale = ACTIVITY_SCALE.get(underlying, 0.5)
    weight = 0.3 + 0.7 * expiry_weight(days_to_expiry)
    return 100 + int(80_000 * scale * math.sqrt(liq) * weight * (0.5 + noise))


def oi_growth(noise: float) -> float:
    """Relative OI change over the whole day: between −10 % and +40 %."""
    return -0.1 + 0.5 * noise
