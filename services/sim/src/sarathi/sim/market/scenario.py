"""Scenario overrides: scripted index levels and scripted option premiums.

A script is a piecewise-linear path of (seconds after `start`, value) points. From `start` to the
first point the value moves linearly from whatever the model showed at `start` (so a script
whose first point is at 0 s jumps, one whose first point is later ramps); between points it is
interpolated; **after the last point the value holds** at the last point's value, for the rest
of the day and on later days, until the script is replaced or cleared. Holding (rather than
letting the random path resume) keeps a test's end state exact and easy to assert on.
Before `start` the model's own path applies.

`Scenario` keeps the active scripts (one per underlying, one per contract; a new script for the
same key replaces the old one) and a version number that caches key on.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from sarathi.common.domain.calendar import require_aware
from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.money import OPTION_TICK, validate_price
from sarathi.sim.market.paths import FloatArray

ScriptPoint = tuple[int | float, Decimal | int]


@dataclass(frozen=True, slots=True)
class Script:
    start_epoch: float  # UTC epoch seconds of the script's start instant
    seconds: tuple[float, ...]  # strictly increasing, first >= 0
    values: tuple[float, ...]  # floats only for interpolation maths

    @classmethod
    def build(cls, start: datetime, points: Sequence[ScriptPoint], *, premium: bool) -> Script:
        if not points:
            raise ValueError("a script needs at least one point")
        seconds = tuple(float(s) for s, _ in points)
        if seconds[0] < 0 or any(b <= a for a, b in itertools.pairwise(seconds)):
            raise ValueError("script seconds must start at >= 0 and strictly increase")
        values: list[float] = []
        for _, raw in points:
            value = validate_price(raw, OPTION_TICK) if premium else Decimal(raw)
            if value < (OPTION_TICK if premium else Decimal(1)):
                raise ValueError(f"script value {raw} is below the minimum")
            values.append(float(value))  # Decimal → float: the interpolation is pricing maths
        return cls(require_aware(start).timestamp(), seconds, tuple(values))

    @property
    def needs_start_value(self) -> bool:
        return self.seconds[0] > 0

    def overlay(self, epochs: FloatArray, base: FloatArray, start_value: float | None) -> FloatArray:
        """`base` with the scripted values from `start_epoch` on (`epochs` aligned with `base`)."""
        mask = epochs >= self.start_epoch
        if not mask.any():
            return base
        xs, ys = list(self.seconds), list(self.values)
        if self.needs_start_value:
            if start_value is None:
                raise ValueError("this script ramps from the model value at its start")
            xs, ys = [0.0, *xs], [start_value, *ys]
        result = base.copy()
        result[mask] = np.interp(epochs[mask] - self.start_epoch, xs, ys)  # holds past the ends
        return result


class Scenario:
    """The active scripts. Thread-safe: the control API writes while the engine reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._underlyings: dict[Underlying, Script] = {}
        self._contracts: dict[str, Script] = {}
        self._version = 0

    @property
    def version(self) -> int:
        return self._version

    def script_underlying(self, underlying: Underlying, script: Script) -> None:
        with self._lock:
            self._underlyings[underlying] = script
            self._version += 1

    def script_contract(self, security_id: str, script: Script) -> None:
        with self._lock:
            self._contracts[str(security_id)] = script
            self._version += 1

    def clear(self) -> None:
        with self._lock:
            self._underlyings.clear()
            self._contracts.clear()
            self._version += 1

    def for_underlying(self, underlying: Underlying) -> Script | None:
        return self._underlyings.get(underlying)

    def for_contract(self, security_id: str) -> Script | None:
        return self._contracts.get(security_id)
