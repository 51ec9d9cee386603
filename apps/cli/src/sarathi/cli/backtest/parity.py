"""Two lists of trades side by side: the services' day (ticks) against the backtest (minutes).

Trades are matched by contract, in entry order. Each pair lists the fields that differ; a trade
on one side only is a difference of its own. Times within `same_minute` of each other count as
the same (a minute bar cannot say more), prices are compared as figures, not asserted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

Row = Mapping[str, Any]
SAME_FIELDS = ("lots", "quantity", "entries", "exit_reason")


@dataclass(frozen=True)
class Pair:
    contract: str
    tick: Row
    minute: Row
    differences: tuple[str, ...]

    @property
    def net_difference(self) -> Decimal:
        return Decimal(self.minute["net"]) - Decimal(self.tick["net"])


@dataclass
class Comparison:
    pairs: list[Pair] = field(default_factory=list)
    tick_only: list[Row] = field(default_factory=list)
    minute_only: list[Row] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return sum(not p.differences for p in self.pairs)

    @property
    def net_difference(self) -> Decimal:
        tick = sum((Decimal(r["net"]) for r in [*(p.tick for p in self.pairs), *self.tick_only]), Decimal(0))
        minute = sum(
            (Decimal(r["net"]) for r in [*(p.minute for p in self.pairs), *self.minute_only]), Decimal(0)
        )
        return minute - tick

    def lines(self) -> list[str]:
        out = [
            f"{self.matched} of {len(self.pairs) + len(self.tick_only)} tick trades matched by the minute "
            f"backtest (contract, lots, entries, exit reason, times to the minute); net P&L difference "
            f"₹{self.net_difference:.2f} (minute − tick)"
        ]
        for p in self.pairs:
            differs = "; ".join(p.differences) or "same"
            out.append(
                f"  {p.contract}: {differs}; net ₹{p.tick['net']} (tick) vs ₹{p.minute['net']} (minute)"
            )
        out.extend(f"  only in the tick day: {r['contract']} entered {r['entry_at']}" for r in self.tick_only)
        out.extend(
            f"  only in the backtest: {r['contract']} entered {r['entry_at']}" for r in self.minute_only
        )
        return out


def _minute_of(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at.replace(second=0, microsecond=0)


def _differences(tick: Row, minute: Row, same_minute: timedelta) -> tuple[str, ...]:
    found = [
        f"{name} {tick[name]} vs {minute[name]}" for name in SAME_FIELDS if tick.get(name) != minute.get(name)
    ]
    for name in ("entry_at", "exit_at"):
        a, b = tick.get(name), minute.get(name)
        if a is None or b is None:
            if a != b:
                found.append(f"{name} {a} vs {b}")
            continue
        if abs(_minute_of(a) - _minute_of(b)) > same_minute:
            found.append(f"{name} {a} vs {b}")
    return tuple(found)


def compare(
    tick: Sequence[Row], minute: Sequence[Row], *, same_minute: timedelta = timedelta(minutes=1)
) -> Comparison:
    result = Comparison()
    left = sorted(minute, key=lambda r: str(r["entry_at"]))
    for row in sorted(tick, key=lambda r: str(r["entry_at"])):
        match = next((m for m in left if m["contract"] == row["contract"]), None)
        if match is None:
            result.tick_only.append(row)
            continue
        left.remove(match)
        result.pairs.append(Pair(row["contract"], row, match, _differences(row, match, same_minute)))
    result.minute_only.extend(left)
    return result
