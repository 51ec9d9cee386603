"""Identifiers: command ids as Dhan correlation ids, our order keys, deterministic event ids.

A command id is the bus `message_id`, the JetStream `Nats-Msg-Id` and Dhan's `correlationId`, so it
must be 1–25 characters of `[A-Za-z0-9_-]` (REFERENCE §2.3, live cap). Event ids are derived from
broker facts (order id + status, order id + cumulative fill), so the same fact seen twice — from
the socket and from reconciliation, or republished after a crash — is one event.
"""

from __future__ import annotations

import hashlib
import re

from sarathi.common.domain.instruments import CORRELATION_ID_MAX_LEN, Underlying
from sarathi.common.domain.trading import Leg
from sarathi.orders.domain.commands import CommandKind

_COMMAND_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{CORRELATION_ID_MAX_LEN}}}$")
EXTERNAL_COMMAND = "external"  # command_id of orders we did not place (web, app, Dhan's exit-all)

# Our correlation-id schemes (who makes them: execution's `entry_command_id`, risk's
# `exit_command_id`, the kill's `derived_command_id("K", ...)`, `duplicate_exit_command_id` here).
_ENTRY_SCHEME = re.compile(r"^(?P<initial>[NBS])\d{10}[A-Z2-7]{5}-E[0-2]$")
_EXIT_SCHEME = re.compile(rf"^x[A-Z]{{2}}-[A-Za-z0-9_-]{{1,{CORRELATION_ID_MAX_LEN - 4}}}$")
_KILL_SCHEME = re.compile(rf"^K[0-9a-f]{{{CORRELATION_ID_MAX_LEN - 1}}}$")
_INITIALS = {underlying.value[0]: underlying for underlying in Underlying}
DUPLICATE_EXIT_PREFIX = "xDU-"  # risk's `x<reason code>-` scheme, code DU (ExitReason.DUPLICATE)


def scheme_of(correlation_id: str) -> CommandKind | None:
    """The kind of our command that `correlation_id` names, or None when it is not one of ours
    (an order placed by hand, on Dhan's web or app, or by another program)."""
    if _ENTRY_SCHEME.match(correlation_id):
        return CommandKind.SUBMIT
    if _EXIT_SCHEME.match(correlation_id):
        return CommandKind.EXIT
    if _KILL_SCHEME.match(correlation_id):
        return CommandKind.KILL
    return None


def underlying_of_entry(command_id: str) -> Underlying | None:
    """The underlying an entry command id names by its initial (`N…-E0` → NIFTY)."""
    match = _ENTRY_SCHEME.match(command_id)
    return _INITIALS.get(match["initial"]) if match else None


def duplicate_key(broker_order_id: str) -> str:
    """Our key of a broker order beyond what its command asked for (a second entry under one
    command id, or a leg of one): linked to the command by `command_id`, kept apart by this key."""
    return f"dup/{broker_order_id}"


def is_duplicate_key(client_order_id: str) -> bool:
    return client_order_id.startswith("dup/")


def duplicate_exit_command_id(broker_order_id: str) -> str:
    """The command id of the sell that closes duplicate entry `broker_order_id`: `xDU-<order id>`
    (hashed when too long), one per duplicate, so closing it twice sells once."""
    if len(DUPLICATE_EXIT_PREFIX) + len(broker_order_id) <= CORRELATION_ID_MAX_LEN and is_command_id(
        broker_order_id
    ):
        return DUPLICATE_EXIT_PREFIX + broker_order_id
    return derived_command_id(DUPLICATE_EXIT_PREFIX, broker_order_id)


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


def slice_command_id(command_id: str, number: int) -> str:
    """The command id of slice `number` (≥ 1) of the exit sell placed under `command_id` (slice 0
    is `command_id` itself), in the same scheme: `K…` for a kill, `x<code>-…` for an exit."""
    if _KILL_SCHEME.match(command_id):
        prefix = "K"
    elif _EXIT_SCHEME.match(command_id):
        prefix = command_id[:4]
    else:
        prefix = "xSX-"
    return derived_command_id(prefix, command_id, "slice", str(number))


def accepted_event_id(key: str) -> str:
    """`acc-<command id>` for the order a command placed; `acc-dup-<broker id>` for a duplicate."""
    return f"acc-{key.replace('/', '-')}"


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
