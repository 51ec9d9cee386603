"""The Dhan REST adapter: the official `dhanhq` client, made safe for an asyncio service.

- Every SDK call runs in a worker thread (`asyncio.to_thread`) under our own timeout; the SDK's
  HTTP timeout is set to the same value so the thread does not outlive the call by a minute.
- Dhan's rate limits are enforced here before a call is made (REFERENCE §1.7): bursts queue.
- With a `ReplyRecorder`, a call given `record=(kind, request)` has its successful reply written
  to the day's replies file (`sarathi.common.dhan.replies`), for the backtest to replay.
- The SDK turns every failure into `{'status': 'failure'}` and drops the HTTP status. A thin
  subclass of its HTTP layer keeps the status and body, and `errors.classify` turns them into the
  typed errors of `sarathi.common.dhan.errors`. An SDK dict never leaves this module: callers
  get Dhan's JSON body (to be parsed by venue schemas) or a typed error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Hashable, Mapping
from enum import StrEnum
from typing import Any, cast

from dhanhq import DhanContext, dhanhq
from dhanhq.dhan_http import DhanHTTP
from pydantic import SecretStr

from sarathi.common.dhan.errors import DhanRejectedError, RawReply, classify
from sarathi.common.dhan.replies import ReplyRecorder
from sarathi.common.ratelimit import WALL_PACING, Pacing, SlidingWindows, Window


class Category(StrEnum):
    """Dhan's rate-limit families (REFERENCE §1.7)."""

    ORDERS = "orders"
    DATA = "data"
    QUOTE = "quote"
    NON_TRADING = "non_trading"
    OPTION_CHAIN = "option_chain"  # one unique request per 3 s: limited per `key` (underlying, expiry)


ORDER_WINDOW_MARGIN_SECONDS = 0.1
"""Our order (and non-trading) windows are this much longer than Dhan's: the broker measures when
a request arrives, we measure when it leaves, and a request that waited in a thread must not land
inside the broker's previous window."""

_M = ORDER_WINDOW_MARGIN_SECONDS
DEFAULT_LIMITS: dict[Category, tuple[Window, ...]] = {
    Category.ORDERS: ((1 + _M, 10), (60 + _M, 250), (3600 + _M, 1000), (86400 + _M, 7000)),
    Category.DATA: ((1, 5), (86400, 100_000)),
    Category.QUOTE: ((1, 1),),
    Category.NON_TRADING: ((1 + _M, 20),),
    Category.OPTION_CHAIN: ((3, 1),),
}


class _ObservedHTTP(DhanHTTP):  # type: ignore[misc]
    """The SDK's HTTP layer, keeping the HTTP status and raw body that its parser drops."""

    def _parse_response(self, response: Any) -> dict[str, Any]:
        parsed = cast(dict[str, Any], super()._parse_response(response))
        try:
            body: Any = json.loads(response.content)
        except ValueError:
            body = response.text
        return {**parsed, "http_status": response.status_code, "body": body}


SdkCall = Callable[[Any], Any]
"""A function of the `dhanhq` client object returning the SDK's reply dict."""

WaitListener = Callable[[Category, float], None]
"""Told how long a call queued behind our rate limits (for a metric)."""


def _sdk(client_id: str, access_token: SecretStr, base_url: str, timeout_seconds: float) -> Any:
    context = DhanContext(client_id, access_token.get_secret_value())
    http = _ObservedHTTP(client_id, access_token.get_secret_value())
    http.base_url = base_url.rstrip("/")
    http.timeout = timeout_seconds
    context.dhan_http = http  # the SDK's modules take their HTTP object from the context
    return dhanhq(context)


class DhanRest:
    """Async access to Dhan's REST API through the official client (mechanics only).

    `sarathi.common.dhan.trading.DhanTrading` adds the typed trading methods on top.
    """

    def __init__(
        self,
        *,
        client_id: str,
        access_token: SecretStr,
        base_url: str,
        timeout_seconds: float = 5.0,
        limits: dict[Category, tuple[Window, ...]] | None = None,
        pacing: Pacing = WALL_PACING,
        on_wait: WaitListener | None = None,
        recorder: ReplyRecorder | None = None,
    ) -> None:
        self._client_id = client_id
        self._base_url = base_url
        self._timeout = timeout_seconds
        self._sdk = _sdk(client_id, access_token, base_url, timeout_seconds)
        self._on_wait = on_wait
        self._recorder = recorder
        self._pacing = pacing
        self._limiters = {
            category: SlidingWindows(windows, pacing=pacing)
            for category, windows in (limits or DEFAULT_LIMITS).items()
        }
        self._keyed: dict[tuple[Category, Hashable], SlidingWindows] = {}  # a handful of chains

    @property
    def client_id(self) -> str:
        return self._client_id

    def set_access_token(self, access_token: SecretStr) -> None:
        """Use a renewed token from the next call on (calls in flight finish with the old one)."""
        self._sdk = _sdk(self._client_id, access_token, self._base_url, self._timeout)

    def _limiter(self, category: Category, key: Hashable | None) -> SlidingWindows:
        if key is None:
            return self._limiters[category]
        limiter = self._keyed.get((category, key))
        if limiter is None:
            limiter = SlidingWindows(self._limiters[category].windows, pacing=self._pacing)
            self._keyed[category, key] = limiter
        return limiter

    async def call(
        self,
        category: Category,
        call: SdkCall,
        *,
        changes_state: bool,
        key: Hashable | None = None,
        record: tuple[str, Mapping[str, Any]] | None = None,
    ) -> Any:
        """Run one SDK call; return Dhan's JSON body or raise a typed `DhanError`.

        `key` gives the call its own limiter within the category, for limits Dhan counts per
        unique request (the option chain: per underlying and expiry, since API v2.5).
        `record` (kind, request): the reply is recorded when this adapter has a recorder and the
        call succeeded.

        The SDK validates some arguments itself and raises `ValueError` before sending anything:
        that is a rejection of ours, never an unknown outcome.
        """
        # The call holds its rate-limit slot until it completes (see `SlidingWindows.slot`).
        async with self._limiter(category, key).slot() as waited:
            if waited > 0 and self._on_wait is not None:
                self._on_wait(category, waited)
            sdk = self._sdk
            try:
                reply = await asyncio.wait_for(asyncio.to_thread(call, sdk), self._timeout + 1.0)
            except TimeoutError:
                raw = RawReply(None, None, transport_error=f"no reply within {self._timeout + 1.0:.1f}s")
            except ValueError as exc:  # the SDK's own argument checks: nothing was sent
                raise DhanRejectedError(f"refused by the client before sending: {exc}", code="SDK") from exc
            else:
                raw = _raw(reply)
        error = classify(raw, changes_state=changes_state)
        if error is not None:
            raise error
        if record is not None and self._recorder is not None:
            kind, request = record
            await asyncio.to_thread(self._recorder.record, kind, request, raw.body)  # a file write
        return raw.body


def _raw(reply: Any) -> RawReply:
    if isinstance(reply, dict) and "http_status" in reply:
        return RawReply(int(reply["http_status"]), reply.get("body"))
    remarks = reply.get("remarks") if isinstance(reply, dict) else reply
    return RawReply(None, None, transport_error=str(remarks) or "no reply")
