"""What a bus has sent and is handling, for the held day's clock protocol (sim mode only).

`NatsBus.activity` is None unless `sarathi.common.clock_hold` turns it on (sim mode), so paper
and live count nothing and wait on nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class BusActivity:
    """Messages published (core, durable, KV) and the tasks inside a handler right now."""

    def __init__(self) -> None:
        self.published = 0
        self.stored_to: set[str] = set()  # streams stored to, until reported
        self.kv_revisions: dict[str, int] = {}  # `KV_<bucket>/<key>` → the latest revision put
        self.handlers: dict[asyncio.Task[object], str] = {}  # task → the subject it handles
        self.on_change: Callable[[], None] = lambda: None  # a handler finished (wakes a waiter)

    def stored(self) -> set[str]:
        """What was stored since `take_stored`: stream names, and `KV_<bucket>/<key>@<revision>`."""
        return self.stored_to | {f"{key}@{revision}" for key, revision in self.kv_revisions.items()}

    def take_stored(self) -> set[str]:
        """`stored`, forgotten."""
        stored = self.stored()
        self.stored_to, self.kv_revisions = set(), {}
        return stored

    @contextmanager
    def handling(self, subject: str) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self.handlers[task] = subject
        try:
            yield
        finally:
            if task is not None:
                self.handlers.pop(task, None)
            self.on_change()
