"""BackgroundTasks: a task that ends on its own fails readiness, named, with its error."""

from __future__ import annotations

import asyncio

import pytest

from sarathi.common.tasks import BackgroundTasks
from sarathi.common.web import NotReadyError


async def _forever() -> None:
    await asyncio.Event().wait()


async def _fails() -> None:
    raise RuntimeError("database gone")


async def _returns() -> None:
    return


async def test_running_tasks_are_ready_and_stop_cancels_them() -> None:
    tasks = BackgroundTasks("svc")
    task = tasks.start("loop", _forever())
    await asyncio.sleep(0)

    await tasks.ready()
    await tasks.stop()

    assert task.cancelled()
    await tasks.ready()  # stopping is not dying


async def test_a_task_that_raises_makes_readiness_fail_with_its_name_and_error() -> None:
    tasks = BackgroundTasks("svc")
    tasks.start("loop", _forever())
    tasks.start("writer", _fails())
    await asyncio.sleep(0.01)

    with pytest.raises(NotReadyError, match=r"^task writer died: RuntimeError: database gone$"):
        await tasks.ready()
    assert tasks.dead == {"writer": "RuntimeError: database gone"}
    await tasks.stop()


async def test_a_task_that_returns_is_dead_too() -> None:
    tasks = BackgroundTasks("svc")
    tasks.start("loop", _returns())
    await asyncio.sleep(0.01)

    with pytest.raises(NotReadyError, match="task loop died: stopped on its own"):
        await tasks.ready()
    await tasks.stop()


async def test_two_tasks_of_one_name_are_refused() -> None:
    tasks = BackgroundTasks("svc")
    tasks.start("loop", _forever())
    with pytest.raises(ValueError, match="already running"):
        tasks.start("loop", _forever())
    await tasks.stop()
