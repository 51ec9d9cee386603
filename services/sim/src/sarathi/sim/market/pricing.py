"""Option pricing on the index: Black-76 on the forward F = S·e^{(r−q)T}, a volatility smile,
and greeks in Dhan's units (REFERENCE §8.2: delta per point, gamma per point, theta per calendar
day, vega per 1 % of IV; IV in percent).

Two forms of the same formulas: `premiums` vectorised over numpy arrays (a whole day of
seconds at once, for series and candles) and `greeks` on scalars with `math` (one instant, for
quotes). Everything is float: this is the pricing maths. Callers turn premiums into Decimal on
the ₹0.05 tick once, at the edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sarathi.sim.market.paths import FloatArray

SECONDS_PER_YEAR = 365.0 * 86_400.0
MIN_PREMIUM = 0.05


@dataclass(frozen=True, slots=True)
class PricingParams:
    rate: float = 0.065  # annual, continuously compounded
    dividend_yield: float = 0.012
    iv_over_realised_low: float = 1.0  # the day's ATM IV = realised sigma × U(low, high)
    iv_over_realised_high: float = 1.2
    skew: float = -0.25  # smile: iv = atm · (1 + skew·m + convexity·m²), m = ln(K/F)/√T
    convexity: float = 0.6
    near_expiry_bump: float = 0.15  # ATM IV rises by up to 15 % in the last days
    smile_floor: float = 0.7
    smile_cap: float = 3.0


@dataclass(frozen=True, slots=True)
class GreekValues:
    iv_percent: float
    delta: float
    gamma: float
    theta: float
    vega: float


def smile_iv(
    atm_iv: float | FloatArray,
    strike: float,
    forward: float | FloatArray,
    years: float | FloatArray,
    params: PricingParams,
) -> FloatArray:
    """Implied volatility (fraction) for `strike`; lower strikes (puts) carry the richer skew."""
    t = np.maximum(np.asarray(years, dtype=np.float64), 1.0 / 365.0)
    m = np.clip(np.log(strike / np.asarray(forward, dtype=np.float64)) / np.sqrt(t), -3.0, 3.0)
    smile = np.clip(1.0 + params.skew * m + params.convexity * m * m, params.smile_floor, params.smile_cap)
    term = 1.0 + params.near_expiry_bump * np.exp(-t * 365.0 / 2.0)
    result: FloatArray = np.asarray(atm_iv, dtype=np.float64) * term * smile
    return result


def _norm_cdf(x: FloatArray) -> FloatArray:
    """Φ(x) via the Chebyshev erfc of Numerical Recipes (fractional error < 1.2e-7), since numpy
    has no erf and a per-element `math.erf` is too slow for a day of seconds."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))  # fmt: skip
    erfc = t * np.exp(poly)
    result: FloatArray = np.where(x >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc)
    return result


def premiums(
    spot: FloatArray,
    strike: float,
    years: FloatArray,
    *,
    iv: FloatArray,
    is_call: bool,
    params: PricingParams,
) -> FloatArray:
    """Black-76 fair premiums (unrounded, ≥ 0) for each (spot, years-to-expiry, iv) element.

    At or after expiry (years ≤ 0) the premium is the intrinsic value.
    """
    t = np.maximum(years, 0.0)
    live = t > 0
    safe_t = np.where(live, t, 1.0)
    forward = spot * np.exp((params.rate - params.dividend_yield) * safe_t)
    sd = np.maximum(iv * np.sqrt(safe_t), 1e-9)
    d1 = (np.log(forward / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    discount = np.exp(-params.rate * safe_t)
    if is_call:
        value = discount * (forward * _norm_cdf(d1) - strike * _norm_cdf(d2))
        intrinsic = np.maximum(spot - strike, 0.0)
    else:
        value = discount * (strike * _norm_cdf(-d2) - forward * _norm_cdf(-d1))
        intrinsic = np.maximum(strike - spot, 0.0)
    result: FloatArray = np.where(live, np.maximum(value, 0.0), intrinsic)
    return result


def on_tick(values: FloatArray) -> FloatArray:
    """Premiums on the ₹0.05 grid, at least ₹0.05 (still floats; Decimal comes at the edge)."""
    result: FloatArray = np.maximum(np.round(values / MIN_PREMIUM) * MIN_PREMIUM, MIN_PREMIUM)
    return result


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def greeks(
    spot: float, strike: float, years: float, *, iv: float, is_call: bool, params: PricingParams
) -> GreekValues:
    """IV and greeks at one instant; all zero when the contract cannot be priced (expired)."""
    if years <= 0 or iv <= 0 or spot <= 0:
        return GreekValues(0.0, 0.0, 0.0, 0.0, 0.0)
    r, q = params.rate, params.dividend_yield
    root = math.sqrt(years)
    d1 = (math.log(spot / strike) + (r - q + 0.5 * iv * iv) * years) / (iv * root)
    d2 = d1 - iv * root
    carry, discount = math.exp(-q * years), math.exp(-r * years)
    gamma = carry * _phi(d1) / (spot * iv * root)
    vega = spot * carry * _phi(d1) * root / 100.0
    decay = -spot * carry * _phi(d1) * iv / (2.0 * root)
    if is_call:
        delta = carry * _cdf(d1)
        theta = decay - r * strike * discount * _cdf(d2) + q * spot * carry * _cdf(d1)
    else:
        delta = -carry * _cdf(-d1)
        theta = decay + r * strike * discount * _cdf(-d2) - q * spot * carry * _cdf(-d1)
    return GreekValues(iv * 100.0, delta, gamma, theta / 365.0, vega)
