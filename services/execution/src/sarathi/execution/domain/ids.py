"""Deterministic command ids: the same signal and pyramid level always give the same id.

The id is the JetStream `Nats-Msg-Id` (a re-published command is stored once) and Dhan's
`correlationId` (≤25 characters of `[A-Za-z0-9_-]`). It is the signals service's short signal
id (`N2609151020` + 5 hash characters of underlying and strategy; same scheme, reimplemented
here so execution does not depend on the signals package) plus `-E<level>`: 19 characters.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime

from sarathi.common.domain.calendar import IST, require_aware
from sarathi.common.domain.instruments import CORRELATION_ID_MAX_LEN, ClientOrderId, Underlying

_STRATEGY = re.compile(r"^[A-Za-z0-9_]{1,40}$")
MAX_PYRAMID_LEVEL = 2


def short_signal_id(underlying: Underlying, strategy: str, bar_close: datetime) -> str:
    """16 characters: underlying initial, bar close `yymmddHHMM` in IST, 5 base32 hash characters."""
    if not _STRATEGY.fullmatch(strategy):
        raise ValueError(f"strategy {strategy!r} must be 1–40 characters of [A-Za-z0-9_]")
    local = require_aware(bar_close).astimezone(IST)
    if local.second or local.microsecond:
        raise ValueError(f"a bar close lies on a whole minute, got {local.isoformat()}")
    tag = base64.b32encode(hashlib.sha256(f"{underlying.value}|{strategy}".encode()).digest()).decode()[:5]
    return f"{underlying.value[0]}{local:%y%m%d%H%M}{tag}"


def entry_command_id(underlying: Underlying, strategy: str, bar_close: datetime, level: int) -> ClientOrderId:
    """`<short signal id>-E<level>`, e.g. `N2609151020ABCDE-E0`."""
    if not 0 <= level <= MAX_PYRAMID_LEVEL:
        raise ValueError(f"pyramid level {level} outside 0..{MAX_PYRAMID_LEVEL}")
    command_id = f"{short_signal_id(underlying, strategy, bar_close)}-E{level}"
    assert len(command_id) <= CORRELATION_ID_MAX_LEN
    return ClientOrderId(command_id)
