"""The account endpoints a pre-market check reads: `GET /v2/profile` and `GET /v2/ip/getIP`.

Shapes (REFERENCE §1.8): `/profile` → `{dhanClientId, tokenValidity: "DD/MM/YYYY HH:MM" (IST),
activeSegment, ddpi, mtf, dataPlan: "Active"|"Deactive", dataValidity}` [DOC][LIVE]; live
`activeSegment` reads like `"E, D, C, M, "` and the sim sends that form. `/ip/getIP` →
`{primaryIP, modifyDatePrimary, secondaryIP, modifyDateSecondary}` [DOC]. What Dhan answers when
no static IP was ever set is UNVERIFIED: the sim sends empty strings. The `dataValidity` format is
UNVERIFIED (the sim sends `YYYY-MM-DD HH:MM:SS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request

from sarathi.common.domain.calendar import IST
from sarathi.sim.api.errors import DhanApiError
from sarathi.sim.ratelimit import Category

LIVE_SEGMENTS = "E, D, C, M, "  # equity, derivatives, currency, commodity (live form)
DATA_PLAN_DAYS = 30  # the sim's plan runs a month from its start (any future date would do)
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Account:
    """What `/profile` and `/ip/getIP` report (from the sim's settings)."""

    client_id: str
    token_valid_until: datetime
    data_plan_active: bool = True
    active_segments: str = LIVE_SEGMENTS
    static_ips: tuple[str, ...] | None = None  # None: every address whitelisted, primary 127.0.0.1

    def profile_json(self) -> dict[str, Any]:
        until = self.token_valid_until.astimezone(IST)
        data_until = until + timedelta(days=DATA_PLAN_DAYS)
        return {
            "dhanClientId": self.client_id,
            "tokenValidity": until.strftime("%d/%m/%Y %H:%M"),
            "activeSegment": self.active_segments,
            "ddpi": "Deactive",
            "mtf": "Deactive",
            "dataPlan": "Active" if self.data_plan_active else "Deactive",
            "dataValidity": data_until.strftime("%Y-%m-%d %H:%M:%S") if self.data_plan_active else "",
        }

    def ip_json(self) -> dict[str, Any]:
        ips = (LOOPBACK,) if self.static_ips is None else self.static_ips
        primary = ips[0] if ips else ""
        secondary = ips[1] if len(ips) > 1 else ""
        return {
            "primaryIP": primary,
            "modifyDatePrimary": "2026-04-01" if primary else "",
            "secondaryIP": secondary,
            "modifyDateSecondary": "2026-04-01" if secondary else "",
        }


Serve = Callable[..., Awaitable[Any]]


def add_account_routes(router: APIRouter, serve: Serve, account: Callable[[], Account | None]) -> None:
    """`/profile` and `/ip/getIP` on the trading router (auth and rate limits as for every call);
    a context without an account answers them as an unknown path (the gateway's 404)."""

    def known(path: str) -> Account:
        found = account()
        if found is None:
            raise DhanApiError(404, {"status": 404, "error": "Not Found", "path": path})
        return found

    @router.get("/profile")
    async def profile(request: Request) -> Any:
        async def act(_: Any) -> Any:
            return known(request.url.path).profile_json()

        return await serve(request, Category.NON_TRADING, act)

    @router.get("/ip/getIP")
    async def get_ip(request: Request) -> Any:
        async def act(_: Any) -> Any:
            return known(request.url.path).ip_json()

        return await serve(request, Category.NON_TRADING, act)
