"""JSON-lines logging to stdout with bound correlation ids and secret redaction (structlog).

`configure_logging(service, level)` once in `__main__`; `get_logger(__name__)` anywhere; bind ids
for one handled message with `bound(correlation_id=..., message_id=...)`. Standard-library
loggers (uvicorn, nats) are routed through the same JSON renderer.

Secrets never reach the output: values of keys that name a secret (token, authorization,
password, secret, pin, totp) are replaced, and so is any `token=...` / `access-token` value inside
a string — the Dhan feed URL carries the access token as a query parameter.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"token|authorization|password|secret|passwd|\bpin\b|totp|api[_-]?key", re.IGNORECASE
)
_SECRET_IN_TEXT = re.compile(
    r"(?P<key>(?:access[-_]?)?token|authorization|password|secret)(?P<sep>\"?\s*[=:]\s*\"?(?:Bearer\s+)?)"
    r"(?P<value>[^&\s\"',;}]+)",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """`text` with any `token=…`, `"access-token": "…"`, `Authorization: Bearer …` value masked."""
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group('key')}{m.group('sep')}{REDACTED}", text)


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) or hasattr(value, "get_secret_value"):  # SecretStr / SecretBytes too
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(key, v) for v in value)
    return value


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every field, the message included."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    """JSON lines on stdout (or `stream`), every line carrying `service`."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=_shared_processors(),
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger (typed loosely: structlog's BoundLogger API is dynamic)."""
    return structlog.get_logger(name)


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Bind ids (correlation_id, message_id, ...) to every log line inside the block."""
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in ids.items() if v is not None}):
        yield
