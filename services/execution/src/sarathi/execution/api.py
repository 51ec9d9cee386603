"""`GET /decisions?underlying=NIFTY&limit=50`: the latest decisions and the reason for each.

Answers "why didn't it trade?": each row says PLACED (with the command id) or REFUSED with the
gate that refused and a sentence a trader can read, plus the numbers behind it in `details`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from sarathi.common.domain.instruments import Underlying
from sarathi.execution.adapters.decisions import Decisions


def build_router(store: Callable[[], Decisions | None], page_max: int) -> APIRouter:
    router = APIRouter(tags=["execution"])

    @router.get("/decisions")
    async def decisions(
        underlying: Underlying | None = None, limit: int = Query(default=50, ge=1)
    ) -> dict[str, Any]:
        current = store()
        if current is None:
            raise HTTPException(503, "the execution service is not running")
        records = await current.recent(underlying, min(limit, page_max))
        return {"decisions": [record.as_json() for record in records]}

    return router
