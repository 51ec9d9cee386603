"""Deterministic command ids: the same signal and pyramid level always give the same id.

The id is the JetStream `Nats-Msg-Id` (a re-published command is stored once) and Dhan's
`correlationId` (≤25 characters of `[A-Za-z0-9_-]`): the short signal id of
`sarathi.common.domain.signal_ids` (16 characters) plus `-E<level>`: 19 characters.
"""

from __future__ import annotations

from datetime import datetime

from sarathi.common.domain.instruments import CORRELATION_ID_MAX_LEN, ClientOrderId, Underlying
from sarathi.common.domain.signal_ids import short_signal_id

MAX_PYRAMID_LEVEL = 2


def entry_command_id(underlying: Underlying, strategy: str, bar_close: datetime, level: int) -> ClientOrderId:
    """`<short signal id>-E<level>`, e.g. `N2609151020ABCDE-E0`."""
    if not 0 <= level <= MAX_PYRAMID_LEVEL:
        raise ValueError(f"pyramid level {level} outside 0..{MAX_PYRAMID_LEVEL}")
    command_id = f"{short_signal_id(underlying, strategy, bar_close)}-E{level}"
    assert len(command_id) <= CORRELATION_ID_MAX_LEN
    return ClientOrderId(command_id)
