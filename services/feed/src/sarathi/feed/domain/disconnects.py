"""Why a feed connection ended, in words an operator can act on, and what the feed does next.

Dhan announces most disconnects with a code-50 packet carrying a reason (REFERENCE §6.8).
The table below turns each reason into a message and an action:

- RECONNECT: transient (the socket dropped, the server restarted): reconnect with backoff;
- COOL_OFF: reconnecting quickly makes it worse (805 connection limit, HTTP 429): back off at
  least the cool-off time;
- STOP: retrying cannot help until a human acts (expired or invalid token, wrong client id,
  data plan missing, our own request refused): stop this connection, mark the feed unhealthy,
  count it, and say what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Action(Enum):
    RECONNECT = "reconnect"
    COOL_OFF = "cool_off"
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
        return str(self.reason) if self.reason is not None else self.action.value


_TABLE: dict[int, Verdict] = {
    804: Verdict(804, "Dhan refused our subscription request (too many instruments in one message "
                      "or on one connection): a bug in the feed's batching", Action.STOP),
    805: Verdict(805, "too many connections: Dhan dropped our oldest socket because more than 5 "
                      "are open for this client id (another process using the same account?)",
                 Action.COOL_OFF),
    806: Verdict(806, "Dhan data APIs are not subscribed for this account: enable the data plan",
                 Action.STOP, auth_failure=True),
    807: Verdict(807, "access token expired: renew SARATHI_DHAN_ACCESS_TOKEN and restart the feed",
                 Action.STOP, auth_failure=True),
    808: Verdict(808, "authentication failed: check SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN",
                 Action.STOP, auth_failure=True),
    809: Verdict(809, "access token invalid: set a valid SARATHI_DHAN_ACCESS_TOKEN and restart the feed",
                 Action.STOP, auth_failure=True),
    810: Verdict(810, "client id invalid: check SARATHI_DHAN_CLIENT_ID", Action.STOP, auth_failure=True),
}  # fmt: skip

DROPPED = Verdict(
    None, "the connection dropped without a reason (network or server restart)", Action.RECONNECT
)
HANDSHAKE_RATE_LIMITED = Verdict(
    None,
    "Dhan answered the WebSocket handshake with HTTP 429: cooling off before reconnecting",
    Action.COOL_OFF,
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
