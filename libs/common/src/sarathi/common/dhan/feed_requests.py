"""Dhan market-feed v2 JSON requests (client → server): build them (feed), parse them (sim).

Facts: `shared/dhan/REFERENCE.md` §6.2–6.3. Request codes 15/16 ticker, 17/18 quote, 21/22 full
(subscribe / unsubscribe), 12 disconnect. At most 100 instruments in one message and 5000 on
one connection. `ExchangeSegment` is the string enum, `SecurityId` a string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any
from urllib.parse import urlencode

from sarathi.common.domain.instruments import ExchangeSegment

MAX_INSTRUMENTS_PER_MESSAGE = 100
MAX_INSTRUMENTS_PER_CONNECTION = 5000
MAX_CONNECTIONS = 5


def feed_connect_url(base_url: str, client_id: str, token: str) -> str:
    """The v2 feed's URL: the credentials ride in the query (REFERENCE §6.1), so never log it raw."""
    query = urlencode({"version": 2, "token": token, "clientId": client_id, "authType": 2})
    return f"{base_url}?{query}"


class FeedMode(IntEnum):
    """A subscription mode, valued by its subscribe request code (unsubscribe is code + 1)."""

    TICKER = 15
    QUOTE = 17
    FULL = 21

    @property
    def unsubscribe_code(self) -> int:
        return int(self) + 1


DISCONNECT_CODE = 12
_SUBSCRIBE = {m.value: m for m in FeedMode}
_UNSUBSCRIBE = {m.unsubscribe_code: m for m in FeedMode}


@dataclass(frozen=True, slots=True)
class FeedInstrument:
    segment: ExchangeSegment
    security_id: str


@dataclass(frozen=True, slots=True)
class FeedRequest:
    """A parsed request: subscribe or unsubscribe `instruments` in `mode`, or disconnect."""

    code: int
    mode: FeedMode | None
    subscribe: bool
    instruments: tuple[FeedInstrument, ...]

    @property
    def is_disconnect(self) -> bool:
        return self.code == DISCONNECT_CODE


class FeedRequestError(ValueError):
    """A request the server cannot honour; `reason` is the Dhan data-API error code to send."""

    def __init__(self, message: str, reason: int = 814) -> None:
        super().__init__(message)
        self.reason = reason


def build_requests(mode: FeedMode, instruments: list[FeedInstrument], *, subscribe: bool = True) -> list[str]:
    """JSON text frames, at most 100 instruments each, in the order given."""
    code = int(mode) if subscribe else mode.unsubscribe_code
    frames = []
    for start in range(0, len(instruments), MAX_INSTRUMENTS_PER_MESSAGE):
        batch = instruments[start : start + MAX_INSTRUMENTS_PER_MESSAGE]
        frames.append(
            json.dumps(
                {
                    "RequestCode": code,
                    "InstrumentCount": len(batch),
                    "InstrumentList": [
                        {"ExchangeSegment": i.segment.wire, "SecurityId": i.security_id} for i in batch
                    ],
                },
                separators=(",", ":"),
            )
        )
    return frames


def build_disconnect() -> str:
    return json.dumps({"RequestCode": DISCONNECT_CODE})


def parse_request(text: str | bytes) -> FeedRequest:
    """Parse one client frame; `FeedRequestError` (Dhan reason 814 / 804) when it is not valid."""
    try:
        raw: Any = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedRequestError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("RequestCode"), int):
        raise FeedRequestError("a request is a JSON object with an integer RequestCode")
    code = raw["RequestCode"]
    if code == DISCONNECT_CODE:
        return FeedRequest(code, None, False, ())
    if code in _SUBSCRIBE:
        mode, subscribe = _SUBSCRIBE[code], True
    elif code in _UNSUBSCRIBE:
        mode, subscribe = _UNSUBSCRIBE[code], False
    else:
        raise FeedRequestError(f"unsupported RequestCode {code}")
    items = raw.get("InstrumentList")
    if not isinstance(items, list):
        raise FeedRequestError("InstrumentList must be a list")
    if len(items) > MAX_INSTRUMENTS_PER_MESSAGE:
        raise FeedRequestError(
            f"{len(items)} instruments in one message (max {MAX_INSTRUMENTS_PER_MESSAGE})", 804
        )
    instruments = []
    for item in items:
        if not isinstance(item, dict):
            raise FeedRequestError("each instrument is an object")
        try:
            segment = ExchangeSegment.from_wire(str(item.get("ExchangeSegment")))
        except ValueError as exc:
            raise FeedRequestError(str(exc)) from exc
        security_id = item.get("SecurityId")
        if not isinstance(security_id, str | int) or not str(security_id).isdigit():
            raise FeedRequestError(f"invalid SecurityId {security_id!r}", 813)
        instruments.append(FeedInstrument(segment, str(security_id)))
    return FeedRequest(code, mode, subscribe, tuple(instruments))
