"""What a failed Dhan call means for the caller: the error taxonomy of the REST adapter.

| error | meaning | the caller |
|---|---|---|
| `DhanTransientError` | nothing changed at the broker, or a read failed | retries with backoff |
| `DhanRateLimitedError` | refused for rate (DH-904, data 805) | backs off, then retries |
| `DhanRejectedError` | refused: input, RMS, order state | publishes the rejection |
| `DhanIpRefusedError` | refused: our IP is not whitelisted (DH-911) | halts trading, alerts |
| `DhanAuthError` | token or client id invalid or expired | stops trading, renews, alerts |
| `DhanUnknownOutcomeError` | an order call may or may not have run | looks the order up by id |

An unknown outcome is never resubmitted under a new id.

Classification uses the code AND the message, since Dhan reuses DH-905/DH-906 for unrelated
causes (REFERENCE §1.4): DH-906 "Invalid Token" is an auth failure, other DH-906 a rejection;
DH-911, and DH-905 "Invalid IP" (older replies), are an IP refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class DhanError(Exception):
    """Base of every error the adapter raises; carries Dhan's code and message when there is one."""

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.http_status = http_status


class DhanTransientError(DhanError):
    """Safe to retry: the request did not change anything at the broker."""


class DhanRateLimitedError(DhanTransientError):
    """Refused for rate; Dhan sends no Retry-After (REFERENCE §1.4)."""


class DhanRejectedError(DhanError):
    """Dhan understood the request and refused it."""


class DhanIpRefusedError(DhanRejectedError):
    """Order placement, modification or cancellation from an IP Dhan has not whitelisted (static
    IP, mandatory since 1 Apr 2026): every such call will be refused until the operator fixes it."""


class DhanAuthError(DhanError):
    """The access token or client id is invalid or expired."""


class DhanUnknownOutcomeError(DhanError):
    """An order call timed out or failed ambiguously: its fate must be looked up, not assumed."""


class DhanNotFoundError(DhanRejectedError):
    """The looked-up order does not exist (e.g. by correlation id: 404 DH-906)."""


@dataclass(frozen=True, slots=True)
class RawReply:
    """What came back from one HTTP call: status and parsed body, or the transport failure."""

    http_status: int | None
    body: Any
    transport_error: str | None = None  # set when no HTTP reply was received

    @property
    def ok(self) -> bool:
        return self.transport_error is None and self.http_status is not None and 200 <= self.http_status < 300


_AUTH_CODES = {"DH-901"}
_IP_REFUSED_CODE = "DH-911"
_DATA_AUTH_CODES = {"807", "808", "809", "810"}
_NOT_SENT_MARKERS = (
    "connection refused",
    "newconnectionerror",
    "connecttimeout",
    "name or service not known",
)


def _trading_error(body: Any) -> tuple[str | None, str]:
    if isinstance(body, dict) and "errorCode" in body:
        return str(body.get("errorCode")), str(body.get("errorMessage") or body.get("errorType") or "")
    return None, ""


def data_error(body: Any) -> tuple[str, str] | None:
    """The (code, message) of a data-API error body `{"data": {"805": "..."}, "status": "failed"}`."""
    if isinstance(body, dict) and body.get("status") == "failed" and isinstance(body.get("data"), dict):
        for code, message in body["data"].items():
            return str(code), str(message)
    return None


def classify(reply: RawReply, *, changes_state: bool) -> DhanError | None:
    """The error a reply means, or None when it is a success (HTTP 2xx and no data error inside)."""
    if reply.transport_error is not None:
        return _transport(reply.transport_error, changes_state=changes_state)
    inner = data_error(reply.body)
    if inner is not None:
        return _data(*inner, status=reply.http_status)
    if reply.ok:
        return None
    return _trading(reply, changes_state=changes_state)


def _transport(reason: str, *, changes_state: bool) -> DhanError:
    if any(marker in reason.lower() for marker in _NOT_SENT_MARKERS):
        return DhanTransientError(f"not sent: {reason}")
    if changes_state:
        return DhanUnknownOutcomeError(f"no reply: {reason}")
    return DhanTransientError(f"no reply: {reason}")


def _data(code: str, message: str, *, status: int | None) -> DhanError:
    if code in _DATA_AUTH_CODES:
        return DhanAuthError(message, code=code, http_status=status)
    error_type = {"805": DhanRateLimitedError, "800": DhanTransientError}.get(code, DhanRejectedError)
    return error_type(message, code=code, http_status=status)


def _trading(reply: RawReply, *, changes_state: bool) -> DhanError:
    status = reply.http_status
    code, message = _trading_error(reply.body)
    if code in _AUTH_CODES or (code == "DH-906" and "invalid token" in message.lower()):
        return DhanAuthError(message, code=code, http_status=status)
    if code == _IP_REFUSED_CODE or (code == "DH-905" and "invalid ip" in message.lower()):
        return DhanIpRefusedError(message or "Invalid IP", code=code, http_status=status)
    if code == "DH-904" or status == 429:
        return DhanRateLimitedError(message or "rate limited", code=code, http_status=status)
    if code in {"DH-908", "DH-909"} or (status is not None and status >= 500 and code is None):
        # A server-side failure on an order call may still have placed the order.
        error_type = DhanUnknownOutcomeError if changes_state else DhanTransientError
        return error_type(message or f"HTTP {status}", code=code, http_status=status)
    if status == 404 and code == "DH-906":
        return DhanNotFoundError(message, code=code, http_status=status)
    return DhanRejectedError(message or f"HTTP {status}", code=code, http_status=status)
