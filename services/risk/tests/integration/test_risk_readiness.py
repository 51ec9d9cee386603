"""`/readyz` of risk reports its own check `risk` (tasks alive, the loop checking on time)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sarathi.sim.testing.harness import SimPool

from .conftest import start_sim
from .harness import world


async def test_running_risk_answers_ready_with_its_loop_check(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    served = start_sim(sims, jetstream_clean)
    async with world(served, jetstream_clean, database, tmp_path) as w, w.risk() as client:

        async def ready() -> dict[str, str]:
            while (reply := await client.get("/readyz")).status_code != 200:  # noqa: ASYNC110 - HTTP state
                await asyncio.sleep(0.1)  # polling an HTTP state, bounded below
            checks: dict[str, str] = reply.json()["checks"]
            return checks

        checks = await asyncio.wait_for(ready(), 20)
    assert checks["risk"] == "ok"
