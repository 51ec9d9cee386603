"""A service's long-running background tasks: started by name, watched, stopped together.

`tasks.start("loop", loop.run())` starts a task meant to run until the service stops. One that
ends on its own (raised, or returned) is logged once, as `task_died` with its name and error, and
from then on `tasks.ready()` (a readiness check) fails with "task loop died: <error>": a dead
loop makes its service not ready instead of leaving `/readyz` green. `stop()` cancels them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from sarathi.common.logging import get_logger
from sarathi.common.web import NotReadyError

log = get_logger(__name__)

STOP_TIMEOUT_SECONDS = 10.0


def _why(task: asyncio.Task[Any]) -> str:
    error = task.exception()
    if error is None:
        return "stopped on its own"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class BackgroundTasks:
    """The named tasks of one service (`service` prefixes each task's name)."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._dead: dict[str, str] = {}
        self._stopping = False

    def start(self, name: str, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if name in self._tasks:
            coroutine.close()
            raise ValueError(f"a task named {name!r} is already running")
        task = asyncio.create_task(coroutine, name=f"{self._service}-{name}")
        self._tasks[name] = task
        task.add_done_callback(lambda done: self._ended(name, done))
        return task

    def _ended(self, name: str, task: asyncio.Task[Any]) -> None:
        if self._stopping or task.cancelled() or self._tasks.get(name) is not task:
            return
        why = _why(task)
        self._dead[name] = why
        log.error("task_died", service=self._service, task=name, error=why)

    @property
    def dead(self) -> dict[str, str]:
        """The tasks that ended on their own, with why."""
        return dict(self._dead)

    async def ready(self) -> None:
        """Readiness check: every task still runs."""
        if self._dead:
            raise NotReadyError("; ".join(f"task {name} died: {why}" for name, why in self._dead.items()))

    async def cancel(self, name: str) -> None:
        """Stop one task on purpose (not a death): it leaves the set, and `ready()` forgets it."""
        task = self._tasks.pop(name, None)
        self._dead.pop(name, None)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def stop(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """Cancel every task and wait for them (a task that ignores cancellation is logged, left)."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=timeout_seconds)
            for task in stuck:
                log.error("task_did_not_stop", task=task.get_name())
        for task in tasks:
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.exception()  # retrieved: no "exception was never retrieved" at exit
        self._tasks.clear()
