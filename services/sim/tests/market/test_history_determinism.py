"""The model's history is a pure function of seed and date: the same bars from two fresh models,
and the bars this seed gave when the fingerprints below were taken (a speed-up must not move a
price, a volume, an OI or an IV)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date, datetime, time

from sarathi.common.dhan.history import IntradayBars, RollingKey, RollingSeries
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.sim.model_history import ModelHistory
from sarathi.sim.settings import SimSettings

FIRST, LAST = date(2026, 6, 29), date(2026, 7, 2)  # a NIFTY weekly expiry (Tue 30 Jun) inside
FINGERPRINTS = {
    "NIFTY": "1e94bf72ed99ac5b9a657f8184ffa695ffa3142923c6470d18f7cdbaa079aa8b",
    "BANKNIFTY": "7cbf20764da375f203e7249efe7b7203cf92939be3ba6500f0ed686b274bd891",
    "SENSEX": "f490a895f1eda6463e2aebbc85b4233d24614683ae3bbe9634a371951d734fbc",
}


def a_paused_sim(seed: int = 20260915) -> SimSettings:
    return SimSettings(
        sim_seed=seed, sim_start=datetime.combine(date(2026, 9, 16), time(9, 15), tzinfo=IST),
        sim_start_paused=True, sim_publish_clock=False, sim_anchor_day=date(2026, 9, 16),
    )  # fmt: skip


def history_of(model: ModelHistory, underlying: Underlying) -> list[IntradayBars | RollingSeries]:
    async def fetch() -> list[IntradayBars | RollingSeries]:
        found: list[IntradayBars | RollingSeries] = [await model.intraday(underlying, FIRST, LAST)]
        for flag in ("WEEK", "MONTH"):
            for offset in (-3, 0, 2):
                for side in OptionType:
                    key = RollingKey(flag, 1, offset, side)  # type: ignore[arg-type]
                    found.append(await model.rolling_option(underlying, key, FIRST, LAST))
        return found

    return asyncio.run(fetch())


def fingerprint(found: list[IntradayBars | RollingSeries]) -> str:
    text = json.dumps([f.model_dump(mode="json") for f in found], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_same_seed_gives_the_same_bars_from_a_fresh_model() -> None:
    first, second = ModelHistory(a_paused_sim()), ModelHistory(a_paused_sim())
    assert history_of(first, Underlying.NIFTY) == history_of(second, Underlying.NIFTY)
    other = ModelHistory(a_paused_sim(seed=7))
    assert history_of(other, Underlying.NIFTY)[0] != history_of(first, Underlying.NIFTY)[0]


def test_the_bars_of_each_underlying_are_the_ones_this_seed_always_gave() -> None:
    model = ModelHistory(a_paused_sim())
    for underlying in Underlying:
        found = history_of(model, underlying)
        assert sum(len(f.timestamp) for f in found) > 375 * 4
        assert fingerprint(found) == FINGERPRINTS[underlying.value], underlying
