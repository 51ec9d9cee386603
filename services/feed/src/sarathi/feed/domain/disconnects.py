"""Why a feed connection ended, in words an operator can act on, and what the feed does next.

Dhan announces most disconnects with a code-50 packet carrying a reason (REFERENCE §6.8).
The table below turns each reason into a message and an action:

- RECONNECT: transient (the socket dropped, the server restarted): reconnect with backoff;
- COOL_OFF: reconnecting quickly makes it worse (805 connection limit, HTTP 429): back off at
  least the cool-off time;
- AUTH_WAIT: Dhan refused the credentials (806 data plan missing, 807 token expired, 808
  authentication failed, 809 token invalid, 810 client id invalid; or HTTP 401/403 on the
  handshake): nothing flows until a valid token (or plan) is in place, which an operator or the
  token renewal provides while the feed runs. Wait for it: retry slowly (every 5-30 s, never
  hammering Dhan with a bad token), re-reading the token each attempt, report the feed not
  ready, count it, and say what to do;
- STOP: retrying cannot help (our own request refused, 804): stop this connection, mark the feed
  unhealthy, count it, and say what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Action(Enum):
    RECONNECT = "reconnect"
    COOL_OFF = "cool_off"
    AUTH_WAIT = "auth_wait"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: int | None
    message: str
    action: Action
    auth_failure: bool = False

    @property
    def label(self) -> str:
        """A low-cardinality metric label: the reason code, or the kind of failure."""
        if self.reason is not None:
            return str(self.reason)
        return "http_auth" if self.action is Action.AUTH_WAIT else self.action.value


_TABLE: dict[int, Verdict] = {
    804: Verdict(804, "Dhan refused our subscription request (too many instruments in one message "
                      "or on one connection): a bug in the feed's batching", Action.STOP),
    805: Verdict(805, "too many connections: Dhan dropped our oldest socket because more than 5 "
                      "are open for this client id (another process using the same account?)",
                 Action.COOL_OFF),
    806: Verdict(806, "Dhan data APIs are not subscribed for this account: enable the data plan "
                      "(the feed retries)", Action.AUTH_WAIT, auth_failure=True),
    807: Verdict(807, "access token expired: renew SARATHI_DHAN_ACCESS_TOKEN (or the token file); "
                      "the feed retries with the token it reads", Action.AUTH_WAIT, auth_failure=True),
    808: Verdict(808, "authentication failed: check SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN "
                      "(the feed retries)", Action.AUTH_WAIT, auth_failure=True),
    809: Verdict(809, "access token invalid: set a valid SARATHI_DHAN_ACCESS_TOKEN (or the token file); "
                      "the feed retries with the token it reads", Action.AUTH_WAIT, auth_failure=True),
    810: Verdict(810, "client id invalid: check SARATHI_DHAN_CLIENT_ID (the feed retries)",
                 Action.AUTH_WAIT, auth_failure=True),
}  # fmt: skip

DROPPED = Verdict(
    None, "the connection dropped without a reason (network or server restart)", Action.RECONNECT
)
HANDSHAKE_RATE_LIMITED = Verdict(
    None,
    "Dhan answered the WebSocket handshake with HTTP 429: cooling off before reconnecting",
    Action.COOL_OFF,
)
HANDSHAKE_UNAUTHORIZED = Verdict(
    None,
    "Dhan refused the WebSocket handshake (HTTP 401/403): the credentials were refused; "
    "check SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN (the feed retries)",
    Action.AUTH_WAIT,
    auth_failure=True,
)
CONNECT_FAILED = Verdict(None, "could not open the WebSocket (refused, timeout or DNS)", Action.RECONNECT)


def verdict_for_reason(reason: int) -> Verdict:
    """The verdict for a code-50 disconnect packet's reason; unknown reasons reconnect."""
    known = _TABLE.get(reason)
    if known is not None:
        return known
    return Verdict(
        reason, f"Dhan disconnected us with reason {reason} (not in Dhan's table)", Action.RECONNECT
    )
