"""The REST adapter's own rate limits: Dhan counts option-chain requests per unique request."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from sarathi.common.clock import IST, FakeClock
from sarathi.common.clock_source import rate_limit_pacing
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.settings import Mode

OK = {"http_status": 200, "body": {"status": "success", "data": {}}}


def an_adapter(clock: FakeClock) -> DhanRest:
    return DhanRest(
        client_id="1", access_token=SecretStr("t"), base_url="http://127.0.0.1:9",
        pacing=rate_limit_pacing(Mode.SIM, clock),
    )  # fmt: skip


def chain(rest: DhanRest, key: Any) -> asyncio.Task[Any]:
    return asyncio.create_task(rest.call(Category.OPTION_CHAIN, lambda _: OK, changes_state=False, key=key))


async def test_chains_of_different_underlyings_go_at_once_and_the_same_one_waits_three_seconds() -> None:
    clock = FakeClock(datetime(2026, 9, 16, 10, 0, tzinfo=IST))
    rest = an_adapter(clock)
    nifty, bank = chain(rest, ("NIFTY", "2026-09-22")), chain(rest, ("BANKNIFTY", "2026-09-29"))
    assert await asyncio.wait_for(asyncio.gather(nifty, bank), 2) == [OK["body"], OK["body"]]

    again = chain(rest, ("NIFTY", "2026-09-22"))
    await asyncio.sleep(0.05)
    assert not again.done()  # the clock stands: three seconds never pass
    clock.advance(3)
    assert await asyncio.wait_for(again, 2) == OK["body"]


async def test_calls_without_a_key_share_the_category_limit() -> None:
    clock = FakeClock(datetime(2026, 9, 16, 10, 0, tzinfo=IST))
    rest = an_adapter(clock)
    await asyncio.wait_for(chain(rest, None), 2)
    second = chain(rest, None)
    await asyncio.sleep(0.05)
    assert not second.done()
    clock.advance(3)
    await asyncio.wait_for(second, 2)
