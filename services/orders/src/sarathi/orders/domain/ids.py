"""Identifiers: command ids as Dhan correlation ids, our order keys, deterministic event ids.

A command id is the bus `message_id`, the JetStream `Nats-Msg-Id` and Dhan's `correlationId`, so it
must be 1–25 characters of `[A-Za-z0-9_-]` (REFERENCE §2.3, live cap). Event ids are derived from
broker facts (order id + status, order id + cumulative fill), so the same fact seen twice — from
the socket and from reconciliation, or republished after a crash — is one event.
"""

from __future__ import annotations

import hashlib
import re

from sarathi.common.domain.instruments import CORRELATION_ID_MAX_LEN
from sarathi.common.messages.fields import Leg

_COMMAND_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{CORRELATION_ID_MAX_LEN}}}$")
EXTERNAL_COMMAND = "external"  # command_id of orders we did not place (web, app, Dhan's exit-all)


def is_command_id(value: str) -> bool:
    """Whether `value` can be sent to Dhan as a correlationId."""
    return bool(_COMMAND_ID.match(value))


def order_key(command_id: str, leg: Leg | None) -> str:
    """Our unique key of an order row: the command id for the order we placed, suffixed for legs."""
    if leg in (Leg.TARGET, Leg.STOP_LOSS):
        return f"{command_id}/{leg.value}"
    return command_id


def external_order_key(broker_order_id: str) -> str:
    return f"ext/{broker_order_id}"


def derived_command_id(prefix: str, *parts: str) -> str:
    """A deterministic correlationId for an order we place on our own (kill): prefix + hash."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{prefix}{digest}"[:CORRELATION_ID_MAX_LEN]


def accepted_event_id(command_id: str) -> str:
    return f"acc-{command_id}"


def rejected_event_id(key: str) -> str:
    return f"rej-{key}"


def unknown_event_id(command_id: str, operation: str) -> str:
    return f"unk-{command_id}-{operation}"


def fill_event_id(broker_order_id: str, cumulative: int) -> str:
    return f"fill-{broker_order_id}-{cumulative}"


def cancelled_event_id(broker_order_id: str) -> str:
    return f"cxl-{broker_order_id}"


def position_event_id(broker_order_id: str, cumulative: int) -> str:
    return f"pos-{broker_order_id}-{cumulative}"
