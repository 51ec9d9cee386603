"""Two lists of trades side by side: what the services did against what the backtest did.

Trades are matched by contract, in entry order. Each pair lists the fields that differ; a trade
on one side only is a difference of its own. Two comparisons:
- minute data against the tick day (`exact=False`): times within `same_minute` of each other count
  as the same (a minute bar cannot say more) and prices are figures to report, not to match;
- a recording against the day it recorded (`exact=True`): times and prices must be equal.
A backtest trade's `note` (what its data could not give) is printed beside its differences as
their likely cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

Row = Mapping[str, Any]
SAME_FIELDS = ("lots", "quantity", "entries", "exit_reason")
PRICE_FIELDS = ("entry_price", "exit_price")


@dataclass(frozen=True)
class Pair:
    contract: str
    tick: Row  # the services' trade
    minute: Row  # the backtest's trade
    differences: tuple[str, ...]

    @property
    def net_difference(self) -> Decimal:
        return Decimal(self.minute["net"]) - Decimal(self.tick["net"])


def _net(rows: Sequence[Row]) -> Decimal:
    return sum((Decimal(r["net"]) for r in rows), Decimal(0))


@dataclass
class Comparison:
    pairs: list[Pair] = field(default_factory=list)
    tick_only: list[Row] = field(default_factory=list)
    minute_only: list[Row] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return sum(not p.differences for p in self.pairs)

    @property
    def same(self) -> bool:
        return not self.tick_only and not self.minute_only and all(not p.differences for p in self.pairs)

    @property
    def net_difference(self) -> Decimal:
        tick = _net([*(p.tick for p in self.pairs), *self.tick_only])
        minute = _net([*(p.minute for p in self.pairs), *self.minute_only])
        return minute - tick

    def lines(self, left: str = "tick", right: str = "minute backtest") -> list[str]:
        total = len(self.pairs) + len(self.tick_only)
        out = [
            f"{self.matched} of {total} {left} trades matched by the {right}; "
            f"net P&L difference ₹{self.net_difference:.2f} ({right} − {left})"
        ]
        for p in self.pairs:
            differs = "; ".join(p.differences) or "same"
            cause = f" — {p.minute['note']}" if p.differences and p.minute.get("note") else ""
            out.append(
                f"  {p.contract}: {differs}; net ₹{p.tick['net']} ({left}) vs ₹{p.minute['net']} ({right})"
                f"{cause}"
            )
        out.extend(f"  only in the {left}: {r['contract']} entered {r['entry_at']}" for r in self.tick_only)
        out.extend(
            f"  only in the {right}: {r['contract']} entered {r['entry_at']}"
            + (f" — {r['note']}" if r.get("note") else "")
            for r in self.minute_only
        )
        return out


def _minute_of(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at.replace(second=0, microsecond=0)


def _differences(tick: Row, minute: Row, same_minute: timedelta, exact: bool) -> tuple[str, ...]:
    found = [
        f"{name} {tick[name]} vs {minute[name]}" for name in SAME_FIELDS if tick.get(name) != minute.get(name)
    ]
    for name in ("entry_at", "exit_at"):
        a, b = tick.get(name), minute.get(name)
        if a is None or b is None:
            if a != b:
                found.append(f"{name} {a} vs {b}")
            continue
        if exact:
            if datetime.fromisoformat(a) != datetime.fromisoformat(b):
                found.append(f"{name} {a} vs {b}")
        elif abs(_minute_of(a) - _minute_of(b)) > same_minute:
            found.append(f"{name} {a} vs {b}")
    if exact:
        found.extend(
            f"{name} {tick[name]} vs {minute[name]}"
            for name in PRICE_FIELDS
            if Decimal(tick[name]) != Decimal(minute[name])
        )
    return tuple(found)


def compare(
    tick: Sequence[Row],
    minute: Sequence[Row],
    *,
    same_minute: timedelta = timedelta(minutes=1),
    exact: bool = False,
) -> Comparison:
    """`tick`: the services' trades; `minute`: the backtest's (of minute data, or of a recording)."""
    result = Comparison()
    left = sorted(minute, key=lambda r: str(r["entry_at"]))
    for row in sorted(tick, key=lambda r: str(r["entry_at"])):
        match = next((m for m in left if m["contract"] == row["contract"]), None)
        if match is None:
            result.tick_only.append(row)
            continue
        left.remove(match)
        result.pairs.append(Pair(row["contract"], row, match, _differences(row, match, same_minute, exact)))
    result.minute_only.extend(left)
    return result
