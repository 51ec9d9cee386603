"""Seeded intraday index paths on a fixed 1-second grid from 09:15:00 to 15:30:00 IST.

One trading day of one underlying is a pure function of (seed, underlying, day): a numpy
generator seeded from those three numbers draws the day's volatility (annualised 11–16 %), the
overnight gap and a sequence of regimes of 20–75 minutes, each either *trending* (a drift worth
about one noise standard deviation over the regime, up or down) or *mean-reverting* (an
Ornstein–Uhlenbeck pull towards the level at the regime's start, half-life 4–14 minutes).
Per-second noise follows a U-shaped intraday profile (busier at the open and the close).

The path is returned as log moves relative to the day's open, so the caller chains days:
open = previous close · e^gap, level(t) = open · e^move(t), close = level(15:30:00).
Floats live here by design: this is the pricing maths, not money.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache

import numpy as np
import numpy.typing as npt

from sarathi.common.domain.instruments import Underlying

SESSION_SECONDS = 22_500  # 09:15:00 → 15:30:00
GRID_POINTS = SESSION_SECONDS + 1  # both ends included: index 22500 is the close
TRADING_DAYS_PER_YEAR = 252

FloatArray = npt.NDArray[np.float64]

_UNDERLYING_CODES = {Underlying.NIFTY: 13, Underlying.BANKNIFTY: 25, Underlying.SENSEX: 51}


class RegimeKind(StrEnum):
    TRENDING = "trending"
    MEAN_REVERTING = "mean_reverting"


@dataclass(frozen=True, slots=True)
class Regime:
    kind: RegimeKind
    start_second: int
    end_second: int  # exclusive
    strength: float  # drift per second (trending) or pull per second (mean-reverting)


@dataclass(frozen=True, slots=True)
class PathParams:
    sigma_low: float = 0.11
    sigma_high: float = 0.16
    trend_probability: float = 0.5
    regime_min_seconds: int = 20 * 60
    regime_max_seconds: int = 75 * 60
    gap_fraction: float = 0.3  # overnight gap sd as a fraction of the daily sd


@dataclass(frozen=True, slots=True)
class DayPath:
    """One day's index path relative to its open, with what generated it."""

    sigma_annual: float
    gap: float  # log(open / previous close)
    moves: FloatArray  # GRID_POINTS log moves from the open; moves[0] == 0
    regimes: tuple[Regime, ...]

    @property
    def total_log_return(self) -> float:
        """log(close / previous close)."""
        return self.gap + float(self.moves[-1])


@cache
def intraday_profile() -> FloatArray:
    """Relative noise scale per second (RMS 1): higher after the open and before the close."""
    seconds = np.arange(SESSION_SECONDS, dtype=np.float64)
    shape = 1.0 + 0.8 * np.exp(-seconds / 1200.0) + 0.4 * np.exp(-(SESSION_SECONDS - seconds) / 1800.0)
    result: FloatArray = shape / math.sqrt(float(np.mean(shape**2)))
    return result


@cache
def cumulative_activity() -> FloatArray:
    """Fraction of the day's volume traded by each grid second (0 at the open, 1 at the close)."""
    profile = intraday_profile() ** 2
    cumulative = np.concatenate(([0.0], np.cumsum(profile)))
    result: FloatArray = cumulative / cumulative[-1]
    return result


def generate_day_path(seed: int, underlying: Underlying, day: date, params: PathParams) -> DayPath:
    """The path of `underlying` on `day` for `seed` (any day; the caller decides what trades)."""
    if seed < 0:
        raise ValueError("the market seed must not be negative")
    entropy = [seed, _UNDERLYING_CODES[underlying], day.toordinal()]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    sigma_annual = float(rng.uniform(params.sigma_low, params.sigma_high))
    sigma_second = sigma_annual / math.sqrt(TRADING_DAYS_PER_YEAR * SESSION_SECONDS)
    daily_sd = sigma_annual / math.sqrt(TRADING_DAYS_PER_YEAR)
    gap = float(rng.normal(0.0, params.gap_fraction * daily_sd))
    noise = rng.standard_normal(SESSION_SECONDS) * sigma_second * intraday_profile()
    increments = np.empty(SESSION_SECONDS, dtype=np.float64)
    regimes: list[Regime] = []
    start = 0
    while start < SESSION_SECONDS:
        length = int(rng.integers(params.regime_min_seconds, params.regime_max_seconds + 1))
        end = min(SESSION_SECONDS, start + length)
        segment = noise[start:end]
        if rng.random() < params.trend_probability:
            sign = 1.0 if rng.random() < 0.5 else -1.0
            drift = sign * float(rng.uniform(0.5, 1.5)) * sigma_second / math.sqrt(end - start)
            increments[start:end] = segment + drift
            regimes.append(Regime(RegimeKind.TRENDING, start, end, drift))
        else:
            half_life = float(rng.uniform(240.0, 840.0))
            kappa = math.log(2.0) / half_life
            increments[start:end] = _ou_increments(segment, kappa)
            regimes.append(Regime(RegimeKind.MEAN_REVERTING, start, end, kappa))
        start = end
    moves = np.concatenate(([0.0], np.cumsum(increments)))
    return DayPath(sigma_annual=sigma_annual, gap=gap, moves=moves, regimes=tuple(regimes))


def _ou_increments(noise: FloatArray, kappa: float) -> FloatArray:
    """Increments of y_k = φ·y_{k−1} + ε_k from y_0 = 0, vectorised: y_k = φ^k Σ_{j≤k} φ^{−j} ε_j.

    Regimes last at most 75 minutes and κ ≤ ln2/240, so φ^{−k} stays below e^14: no overflow and
    no precision worth mentioning in float64.
    """
    phi = math.exp(-kappa)
    k = np.arange(1, noise.size + 1, dtype=np.float64)
    levels = phi**k * np.cumsum(noise * phi ** (-k))
    result: FloatArray = np.diff(np.concatenate(([0.0], levels)))
    return result
