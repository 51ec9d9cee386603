"""Recordings of the Dhan REST replies a service acted on: written by signals and execution,
read by the backtest to replay a recorded day.

The feed's recording (`sarathi.common.dhan.recording`) holds the ticks; this one holds the rest of
what the system read from Dhan: the option chains execution fetched and the warm-up history
signals fetched. One file per market day and service, one JSON object a line:

    replies-YYYYMMDD-<service>.jsonl
    {"at": "<market time, ISO 8601>", "kind": "optionchain", "request": {...}, "body": <Dhan's JSON body>}

Kinds and their requests:
    "optionchain"  {"underlying": "NIFTY", "expiry": "2026-09-22"}
    "intraday"     {"underlying": "NIFTY", "from": "2026-09-11", "to": "2026-09-16", "interval": 5}

Only successful replies are recorded (a typed `DhanError` is not). Each line is written and
flushed at once (tens a day); a failing disk is logged once and counted, never raised into the
caller: a recording must not stop trading.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sarathi.common.dhan.recording import RecordingError
from sarathi.common.domain.calendar import IST
from sarathi.common.logging import get_logger

log = get_logger(__name__)

OPTION_CHAIN = "optionchain"
INTRADAY = "intraday"
_PREFIX = "replies-"
_SUFFIX = ".jsonl"


def replies_path(directory: Path, day: date, service: str) -> Path:
    return directory / f"{_PREFIX}{day:%Y%m%d}-{service}{_SUFFIX}"


class ReplyRecorder:
    """Appends one line per reply to the day's file of `service` (the day: IST date of `now()`).

    `now` is the service's Clock (market time). Safe to call from worker threads.
    """

    def __init__(
        self,
        directory: Path,
        service: str,
        now: Callable[[], datetime],
        *,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self._directory = directory
        self._service = service
        self._now = now
        self._on_error = on_error
        self._lock = threading.Lock()
        self._failing = False

    def record(self, kind: str, request: Mapping[str, Any], body: Any) -> None:
        at = self._now()
        path = replies_path(self._directory, at.astimezone(IST).date(), self._service)
        line = {"at": at.isoformat(), "kind": kind, "request": dict(request), "body": body}
        try:
            text = json.dumps(line, default=str, ensure_ascii=False) + "\n"
            with self._lock:
                self._directory.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as stream:  # closed (so flushed) at once
                    stream.write(text)
        except (OSError, ValueError) as exc:
            if self._on_error is not None:
                self._on_error()
            if not self._failing:
                log.error("reply_recording_failed", error=repr(exc), path=str(path))
            self._failing = True
            return
        self._failing = False


@dataclass(frozen=True)
class RecordedReply:
    at: datetime
    service: str
    kind: str
    request: dict[str, Any]
    body: Any


def read_replies(directory: Path, day: date) -> list[RecordedReply]:
    """Every recorded reply of `day`, all services merged, in order of `at` (ties: by file name,
    then line). A malformed line raises `RecordingError` naming its file and line."""
    replies: list[RecordedReply] = []
    head = f"{_PREFIX}{day:%Y%m%d}-"
    for path in sorted(directory.glob(f"{head}*{_SUFFIX}")):
        service = path.name[len(head) : -len(_SUFFIX)]
        with path.open(encoding="utf-8") as stream:
            for number, text in enumerate(stream, start=1):
                try:
                    replies.append(_reply(text, service))
                except (ValueError, KeyError, TypeError) as exc:
                    raise RecordingError(f"{path}: line {number}: {exc}") from None
    replies.sort(key=lambda reply: reply.at)  # stable: equal instants keep file and line order
    return replies


def _reply(text: str, service: str) -> RecordedReply:
    line = json.loads(text)
    if not isinstance(line, dict):
        raise ValueError("not a JSON object")
    at = datetime.fromisoformat(line["at"])
    if at.tzinfo is None:
        raise ValueError(f"'at' {line['at']!r} has no timezone")
    kind, request = line["kind"], line["request"]
    if not isinstance(kind, str) or not isinstance(request, dict):
        raise ValueError("'kind' must be a string and 'request' an object")
    return RecordedReply(at, service, kind, request, line["body"])
