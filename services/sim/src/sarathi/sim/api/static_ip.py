"""Dhan's static-IP rule (REFERENCE §1.8): since 1 Apr 2026 order placement, modification and
cancellation are refused unless they come from a whitelisted address.

`SARATHI_SIM_STATIC_IPS` lists the whitelisted addresses (unset: not enforced, the default, so
a fresh checkout trades from 127.0.0.1; empty or `none`: no address is set, and every order call
is refused, as Dhan refuses an account that registered none). The refusal is the docs'
`DH-911` (annexure: "Invalid IP"), or with `SARATHI_SIM_STATIC_IP_REFUSAL=dh905` the older
live reply, `DH-905` "Invalid IP".
The HTTP status (400) and the exact message text are UNVERIFIED; the sim checks the address
after the token (Dhan's order of checks is UNVERIFIED too). Reads are never refused for IP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from ipaddress import ip_address

from fastapi import Request

from sarathi.sim.api.errors import trading_error

INVALID_IP = "Invalid IP"


class StaticIpRefusal(StrEnum):
    DH911 = "dh911"  # the docs' annexure code since the static-IP rule
    DH905 = "dh905"  # older live replies: "Invalid IP" under DH-905


def normalized(address: str) -> str:
    """One address as `ipaddress` spells it (`::1`, `127.0.0.1`); ValueError when it is not one."""
    return str(ip_address(address.strip()))


class StaticIpGate:
    """The whitelist, how a refusal reads, and how many requests it refused."""

    def __init__(
        self,
        allowed: Iterable[str] | None = None,
        refusal: StaticIpRefusal = StaticIpRefusal.DH911,
        *,
        on_refused: Callable[[], None] = lambda: None,
    ) -> None:
        self.allowed = None if allowed is None else frozenset(normalized(address) for address in allowed)
        self.refusal = refusal
        self.refused = 0
        self._on_refused = on_refused

    @property
    def enforced(self) -> bool:
        return self.allowed is not None

    def check(self, request: Request) -> None:
        """Raise Dhan's refusal unless the request's client address is whitelisted."""
        if self.allowed is None:
            return
        host = request.client.host if request.client is not None else ""
        try:
            allowed = normalized(host) in self.allowed
        except ValueError:  # no address (a test transport): not whitelisted
            allowed = False
        if allowed:
            return
        self.refused += 1
        self._on_refused()
        if self.refusal is StaticIpRefusal.DH905:
            raise trading_error(400, "DH-905", INVALID_IP)
        raise trading_error(400, "DH-911", INVALID_IP)
