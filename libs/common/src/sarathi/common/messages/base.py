"""The message envelope (ARCHITECTURE §3) and the JSON codec used on the bus.

Every message is a frozen pydantic model that refuses unknown fields and carries:
`message_id` (its own id; for commands the deterministic command id, also the `Nats-Msg-Id`),
`correlation_id` (one trade from signal to close), `causation_id` (the message that caused it),
`event_time` (market time from the Clock, timezone-aware) and `schema_version`.

Concrete messages declare `type: Literal["Name"] = "Name"`; the literal is the discriminator on
the wire, and `register` puts the class in the registry that `decode` consults.
"""

from __future__ import annotations

import builtins
import json
import uuid
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 1

M = TypeVar("M", bound="Message")


class MessageDecodeError(ValueError):
    """Bytes that are not a valid message: dead-letter them, never crash on them."""


class UnexpectedMessageError(MessageDecodeError):
    """A valid message of a type its receiver does not take: dead-letter it, like undecodable bytes."""


class Message(BaseModel):
    """Base of every bus message: an immutable envelope plus the payload fields of the subclass."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    schema_version: int = SCHEMA_VERSION
    message_id: str = Field(min_length=1, max_length=128)
    correlation_id: str = Field(min_length=1, max_length=128)
    causation_id: str | None = Field(default=None, max_length=128)
    event_time: AwareDatetime

    registry: ClassVar[dict[str, builtins.type[Message]]] = {}

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


def register(cls: type[M]) -> type[M]:
    """Class decorator: make `decode` know this message type by its `type` literal."""
    name = cls.model_fields["type"].default
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} must declare `type: Literal[...] = ...`")
    if name in Message.registry and Message.registry[name] is not cls:
        raise TypeError(f"message type {name!r} registered twice")
    Message.registry[name] = cls
    return cls


def new_message_id() -> str:
    """A random id for a message that has no natural deterministic id (events, snapshots)."""
    return uuid.uuid4().hex


def decode(data: bytes | str, expected: type[M] | None = None) -> Message:
    """Decode bytes into the registered message type they name (or into `expected`)."""
    try:
        if expected is not None:
            return expected.model_validate_json(data)
        raw: Any = json.loads(data)
    except ValidationError as exc:
        raise MessageDecodeError(f"invalid {expected.__name__ if expected else 'message'}: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageDecodeError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MessageDecodeError("a message is a JSON object")
    name = raw.get("type")
    cls = Message.registry.get(name) if isinstance(name, str) else None
    if cls is None:
        raise MessageDecodeError(f"unknown message type {name!r}")
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise MessageDecodeError(f"invalid {name}: {exc}") from exc


def decode_as(data: bytes | str, expected: type[M]) -> M:
    """Decode into exactly `expected`, or raise `MessageDecodeError`."""
    message = decode(data, expected)
    if not isinstance(message, expected):  # pragma: no cover - model_validate_json returns expected
        raise MessageDecodeError(f"expected {expected.__name__}, got {type(message).__name__}")
    return message


def type_name(cls: type[Message]) -> str:
    """The wire name of a message class (its `type` literal)."""
    name = cls.model_fields["type"].default
    return name if isinstance(name, str) else cls.__name__


def decode_one_of(data: bytes | str, expected: tuple[type[Message], ...]) -> Message:
    """Decode a message that must be one of `expected`; `UnexpectedMessageError` names both sides."""
    message = decode(data)
    if not isinstance(message, expected):
        wanted = " | ".join(type_name(cls) for cls in expected)
        raise UnexpectedMessageError(f"expected {wanted}, got {message.type}")
    return message


def envelope(
    *,
    message_id: str | None = None,
    correlation_id: str,
    causation_id: str | None = None,
    event_time: datetime,
) -> dict[str, Any]:
    """The envelope fields as keyword arguments for a message constructor."""
    return {
        "message_id": message_id or new_message_id(),
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "event_time": event_time,
    }
