"""The command state machine: how far handling a command got, and the moves allowed between.

A command row is stored before any broker call; a redelivered command (or a restarted process)
resumes from its status (ARCHITECTURE §7). Every write of a status goes through `check`, so a
move the table does not list is refused with `IllegalTransitionError` (NautilusTrader's order
state table is the model) instead of being written.

| from | to | when |
|---|---|---|
| RECEIVED | SENDING | a send starts (its own durable commit) |
| RECEIVED | PLACED | the broker's order under this id is on record (adopted, or the socket was first) |
| RECEIVED | RECEIVED | a slice re-planned (new quantity, never sent) |
| RECEIVED | DONE | nothing to send (no position, cancel answered, slice not needed) |
| RECEIVED | FAILED | too many placements without an order |
| SENDING | PLACED / REJECTED / UNKNOWN | the broker's answer: took it, refused it, did not say |
| SENDING | RECEIVED | not sent (transient error, 429, auth) or proven absent after a crash |
| SENDING | SENDING | proven absent: sent again under the same id |
| SENDING | FAILED | proven absent too often |
| UNKNOWN | PLACED / SENDING / RECEIVED / FAILED | found; absent (sent again, or re-planned); given up |
| PLACED | PLACED | the socket and the reply both tell us (either may be first) |
| DONE | RECEIVED / DONE | a slice retired by one plan and needed by the next (never sent) |
| REJECTED, FAILED | — | final |
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class CommandKind(StrEnum):
    """What a bus command asked the orders service to do."""

    SUBMIT = "SUBMIT"
    EXIT = "EXIT"
    CANCEL = "CANCEL"
    KILL = "KILL"  # one closing order of an operator kill


class CommandStatus(StrEnum):
    """How far handling a command got (see the module docstring's table)."""

    RECEIVED = "RECEIVED"  # stored, nothing sent
    SENDING = "SENDING"  # a broker call may be on its way
    UNKNOWN = "UNKNOWN"  # a call failed ambiguously: resolve by correlation id
    PLACED = "PLACED"  # the broker has the order
    REJECTED = "REJECTED"  # the broker refused it
    DONE = "DONE"  # finished without (or after) an order
    FAILED = "FAILED"  # given up before anything reached the broker


R, S, U = CommandStatus.RECEIVED, CommandStatus.SENDING, CommandStatus.UNKNOWN
P, J, D, F = CommandStatus.PLACED, CommandStatus.REJECTED, CommandStatus.DONE, CommandStatus.FAILED

TRANSITIONS: Mapping[CommandStatus, frozenset[CommandStatus]] = MappingProxyType(
    {
        R: frozenset({S, P, R, D, F}),
        S: frozenset({P, J, U, R, S, F}),
        U: frozenset({P, S, R, F}),
        P: frozenset({P}),
        D: frozenset({R, D}),
        J: frozenset(),
        F: frozenset(),
    }
)
"""The statuses each status may move to; a move not listed is illegal."""

FINISHED = frozenset({P, J, D, F})
"""Outcome and events stored: a redelivered command does nothing more."""

IN_DOUBT = frozenset({S, U})
"""A call may have reached the broker: resolve by correlation id before anything else."""


class IllegalTransitionError(RuntimeError):
    """A command status move the table does not allow: a broken invariant, never written."""


def check(command_id: str, current: CommandStatus, to: CommandStatus) -> CommandStatus:
    """`to`, if `current → to` is allowed; raises `IllegalTransitionError` otherwise."""
    if to not in TRANSITIONS[current]:
        raise IllegalTransitionError(f"command {command_id}: {current} → {to} is not allowed")
    return to


def sources(to: CommandStatus) -> frozenset[CommandStatus]:
    """The statuses from which `to` may be reached."""
    return frozenset(status for status, targets in TRANSITIONS.items() if to in targets)
