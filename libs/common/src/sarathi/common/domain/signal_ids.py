"""Deterministic signal ids: the long one signals publishes, the short one commands derive from.

`signal_id` is the `Signal`'s message id (≤ 64 characters of `[A-Za-z0-9_-]`); a re-published bar
gives the same id, so JetStream drops the duplicate. `short_signal_id` is 16 characters (underlying
initial, bar close `yymmddHHMM` in IST, 5 base32 hash characters of underlying and strategy): it
leaves 9 of Dhan's 25 `correlationId` characters for the command ids execution derives from it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime

from sarathi.common.domain.calendar import require_aware
from sarathi.common.domain.instruments import Underlying

_STRATEGY = re.compile(r"^[A-Za-z0-9_]{1,40}$")


def check_strategy(strategy: str) -> None:
    """`ValueError` unless `strategy` is 1–40 characters of `[A-Za-z0-9_]`."""
    if not _STRATEGY.fullmatch(strategy):
        raise ValueError(f"strategy {strategy!r} must be 1–40 characters of [A-Za-z0-9_]")


def signal_id(underlying: Underlying, strategy: str, bar_close: datetime) -> str:
    """`NIFTY-st_rsi_adx-20260915T1020`: underlying, strategy, bar close in IST to the minute."""
    check_strategy(strategy)
    return f"{underlying.value}-{strategy}-{_on_minute(bar_close):%Y%m%dT%H%M}"


def short_signal_id(underlying: Underlying, strategy: str, bar_close: datetime) -> str:
    """`N2609151020` + 5 hash characters of underlying and strategy: 16 characters."""
    check_strategy(strategy)
    digest = hashlib.sha256(f"{underlying.value}|{strategy}".encode()).digest()
    tag = base64.b32encode(digest).decode()[:5]
    return f"{underlying.value[0]}{_on_minute(bar_close):%y%m%d%H%M}{tag}"


def _on_minute(instant: datetime) -> datetime:
    """`instant` in IST; `ValueError` if naive or not on a whole minute."""
    local = require_aware(instant)
    if local.second or local.microsecond:
        raise ValueError(f"a bar close lies on a whole minute, got {local.isoformat()}")
    return local
