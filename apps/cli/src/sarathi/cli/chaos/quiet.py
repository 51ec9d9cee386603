"""When a paused system has nothing in flight, so both books can be read (pure).

A look is one read of orders' `/status`, the sim's `/sim/progress` and the durable consumers of
commands and events. Quiet: orders has reconciled since it started, its outbox is published, no
consumer has work pending; settled: two quiet looks in a row with every counter equal.

Order updates: the sim counts every frame it hands to a socket of orders, orders every frame it
has handled, each since it started. A frame sent to a socket that died with a killed orders (or
whose handling was cut short by a reconnect) is never handled, so after such a trial the two
counts differ by a constant: the offset. Frames still on their way show as a difference above
the offset that moves. A difference other than the known offset is accepted only once every
counter has stood still for `rebase_seconds`, and becomes the new offset (what those frames
carried, the reconciliation pass the trial waited for has recorded from the broker's books).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Look:
    reconciled: bool
    frames_behind: int  # frames the sim sent to orders minus those orders handled
    outbox_pending: int
    consumers_pending: int
    consumers_busy: tuple[str, ...]
    marks: tuple[Any, ...]  # every counter read: equal marks mean nothing moved

    @property
    def quiet(self) -> bool:
        return self.reconciled and not self.outbox_pending and not self.consumers_pending

    def describe(self, offset: int) -> str:
        parts = [
            "" if self.reconciled else "orders has not reconciled",
            f"{self.outbox_pending} orders event(s) not published" if self.outbox_pending else "",
            f"consumers busy: {', '.join(self.consumers_busy)}" if self.consumers_pending else "",
            f"{self.frames_behind - offset} order update(s) not handled by orders"
            if self.frames_behind != offset
            else "",
        ]
        return ", ".join(p for p in parts if p) or "counters still moving"


class Settling:
    """Feed it looks (with the wall time of each); it says when the system has settled."""

    def __init__(self, offset: int = 0, rebase_seconds: float = 2.0) -> None:
        self.offset = offset
        self._rebase = rebase_seconds
        self._still: tuple[Look, float] | None = None  # the first of the looks that stood still

    def see(self, look: Look, at: float) -> bool:
        still = self._still
        if not look.quiet or still is None or still[0].marks != look.marks:
            self._still = (look, at) if look.quiet else None
            return False
        if look.frames_behind == self.offset:
            return True
        if at - still[1] >= self._rebase:
            self.offset = look.frames_behind
            return True
        return False
