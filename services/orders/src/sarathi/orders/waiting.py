"""Waiting on an event with a timeout without `asyncio.wait_for`.

On Python 3.11 `wait_for` can swallow a cancellation that arrives as its timeout fires, leaving a
loop that was told to stop running forever. `asyncio.wait` never swallows one.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout_seconds: float) -> bool:
    """Wait until `event` is set or `timeout_seconds` pass; True when it was set."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout_seconds)
    finally:
        waiter.cancel()
    return event.is_set()


def raise_if_cancelling() -> None:
    """Honour a cancellation that a clock's `wait_for`-based sleep may have swallowed (3.11)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
