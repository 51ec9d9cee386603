"""The one live terminal line every command shares: rewritten in place on a terminal, cleared
before it is rewritten and before any other output, so no text is left half overwritten.

Off a terminal only milestones are printed (one line each), so logs stay short. Imports nothing
heavy: `sarathi --help` loads it.
"""

from __future__ import annotations

import sys


class LiveLine:
    def __init__(self, tty: bool | None = None) -> None:
        self._tty = tty
        self.shown = False

    @property
    def tty(self) -> bool:
        return sys.stdout.isatty() if self._tty is None else self._tty

    def show(self, text: str, milestone: bool = False) -> None:
        """Rewrite the line with `text`; a milestone stays (and is the one thing printed off a terminal)."""
        if self.tty:
            print(f"\r\033[K  {text}" if text else "\r\033[K", end="\n" if milestone else "", flush=True)
            self.shown = bool(text) and not milestone
        elif milestone:
            print(f"  {text}", flush=True)

    def clear(self) -> None:
        if self.shown:
            print("\r\033[K", end="", flush=True)
            self.shown = False
