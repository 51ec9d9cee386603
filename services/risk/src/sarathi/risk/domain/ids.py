"""Deterministic ids of what risk publishes, so a repeat (restart, resend) is one message.

An exit command id is also Dhan's `correlationId`: 1–25 characters of `[A-Za-z0-9_-]`. It is
derived from the position's entry order id and the exit reason, so one position gets at most one
exit command per reason, whoever (loop, tick, operator, restart) asks for it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

from sarathi.common.domain.instruments import CORRELATION_ID_MAX_LEN
from sarathi.common.domain.trading import ExitReason

REASON_CODES: dict[ExitReason, str] = {
    ExitReason.TRAILING: "TR",
    ExitReason.SQUARE_OFF: "SQ",
    ExitReason.FLATTEN: "FL",
    ExitReason.KILL: "KL",
    ExitReason.DAILY_LOSS: "DL",
    ExitReason.STALE_PRICE: "ST",
    ExitReason.TARGET: "TG",
    ExitReason.STOP_LOSS: "SL",
    ExitReason.DUPLICATE: "DU",  # orders' own close of a duplicate entry (`xDU-<broker order id>`)
}
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_PREFIX_KEEP = 12  # characters of the entry id kept readable when it must be shortened


def exit_command_id(entry_order_id: str, reason: ExitReason) -> str:
    """`x<code>-<entry id>`, or `x<code>-<12 chars of it><8 hex of its hash>` when too long."""
    head = f"x{REASON_CODES[reason]}-"
    safe = _SAFE.sub("_", entry_order_id)
    if len(head) + len(safe) <= CORRELATION_ID_MAX_LEN and safe == entry_order_id:
        return head + safe
    digest = hashlib.sha256(entry_order_id.encode()).hexdigest()
    return f"{head}{safe[:_PREFIX_KEEP]}{digest[:8]}"


def exit_triggered_id(command_id: str) -> str:
    return f"risk-exit-{command_id}"


def trailing_armed_id(entry_order_id: str) -> str:
    return f"risk-armed-{entry_order_id}"


def daily_loss_id(day: date) -> str:
    return f"risk-daily-loss-{day.isoformat()}"
