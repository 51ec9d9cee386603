"""Signal ids: deterministic, within Dhan's limits, IST bar closes on a whole minute."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.signal_ids import short_signal_id, signal_id

BAR_CLOSE = datetime(2026, 9, 15, 10, 20, tzinfo=IST)


def test_the_signal_id_names_underlying_strategy_and_bar_close_in_ist() -> None:
    assert signal_id(Underlying.NIFTY, "st_rsi_adx", BAR_CLOSE) == "NIFTY-st_rsi_adx-20260915T1020"
    assert signal_id(Underlying.NIFTY, "st_rsi_adx", BAR_CLOSE.astimezone(tz=None)) == (
        "NIFTY-st_rsi_adx-20260915T1020"
    )


def test_the_longest_signal_id_fits_64_characters_of_the_allowed_set() -> None:
    identifier = signal_id(Underlying.BANKNIFTY, "s" * 40, BAR_CLOSE)

    assert len(identifier) == 64
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", identifier)


def test_the_short_signal_id_is_deterministic_short_and_distinct_per_underlying_and_strategy() -> None:
    ids = {
        short_signal_id(underlying, strategy, BAR_CLOSE)
        for underlying in Underlying
        for strategy in ("st_rsi_adx", "ema_cross")
    }

    assert len(ids) == 6
    assert all(re.fullmatch(r"[A-Z0-9]{16}", identifier) for identifier in ids)
    assert short_signal_id(Underlying.NIFTY, "st_rsi_adx", BAR_CLOSE).startswith("N2609151020")
    assert short_signal_id(Underlying.NIFTY, "st_rsi_adx", BAR_CLOSE) == short_signal_id(
        Underlying.NIFTY, "st_rsi_adx", BAR_CLOSE
    )


@pytest.mark.parametrize(
    "bar_close",
    [
        pytest.param(datetime(2026, 9, 15, 10, 20), id="naive"),  # noqa: DTZ001
        pytest.param(BAR_CLOSE + timedelta(seconds=1), id="not-on-a-minute"),
    ],
)
def test_a_signal_id_needs_an_aware_bar_close_on_a_whole_minute(bar_close: datetime) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        signal_id(Underlying.NIFTY, "st_rsi_adx", bar_close)


def test_the_short_signal_id_scheme_is_pinned() -> None:
    """Commands already at the broker carry these ids: changing the scheme must be a visible diff."""
    assert [short_signal_id(u, "st_rsi_adx", BAR_CLOSE) for u in Underlying] == [
        "N2609151020KNZ2T", "B2609151020P52G7", "S26091510205YTZT",
    ]  # fmt: skip
