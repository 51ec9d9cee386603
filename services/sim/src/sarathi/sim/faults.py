"""Faults the control API can inject (`POST /sim/faults`), consulted by the REST and WebSocket
parts of the emulator. Counted faults are used up one request at a time.

| kind | effect |
|---|---|
| `reject_orders` (`count`, `error_code`) | the next `count` placements are refused with that Dhan code |
| `delay_rest` (`ms`, `count`) | the next `count` REST replies are delayed by `ms` |
| `timeout_rest` (`count`) | the next `count` order placements are executed but their reply never comes |
| `drop_feed` | every market-feed socket is closed now |
| `pause_order_updates` (`seconds`) | order updates are held back, then delivered, for `seconds` (wall) |
| `expire_token` | the access token stops working (REST errors, feed 807, new feed sockets refused) |
| `restore_token` | the same access token works again (Dhan had been wrong, or re-enabled it) |
| `renew_token` (`token`) | a new access token works; the old one reads as expired from now on (RenewToken) |
| `reset` | clears every fault and restores the token |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Fault(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RejectOrders(_Fault):
    kind: Literal["reject_orders"]
    count: int = Field(default=1, ge=1, le=10_000)
    error_code: str = Field(default="DH-906", pattern=r"^DH-\d{3,4}$")
    message: str = Field(default="RMS: Order rejected by the simulator", max_length=200)


class DelayRest(_Fault):
    kind: Literal["delay_rest"]
    ms: int = Field(ge=1, le=600_000)
    count: int = Field(default=1, ge=1, le=10_000)


class TimeoutRest(_Fault):
    kind: Literal["timeout_rest"]
    count: int = Field(default=1, ge=1, le=10_000)


class DropFeed(_Fault):
    kind: Literal["drop_feed"]


class PauseOrderUpdates(_Fault):
    kind: Literal["pause_order_updates"]
    seconds: float = Field(gt=0, le=3600)


class ExpireToken(_Fault):
    kind: Literal["expire_token"]


class RestoreToken(_Fault):
    kind: Literal["restore_token"]


class RenewToken(_Fault):
    kind: Literal["renew_token"]
    token: str = Field(min_length=1, max_length=4096)

    def __repr__(self) -> str:  # a token is never printed
        return "RenewToken(token=***)"


class Reset(_Fault):
    kind: Literal["reset"]


AnyFault = (
    RejectOrders
    | DelayRest
    | TimeoutRest
    | DropFeed
    | PauseOrderUpdates
    | ExpireToken
    | RestoreToken
    | RenewToken
    | Reset
)
FaultRequest = Annotated[AnyFault, Field(discriminator="kind")]


@dataclass(frozen=True, slots=True)
class Rejection:
    error_code: str
    message: str


@dataclass
class Faults:
    """The active faults. `on_drop_feed` / `on_token_expired` are wired by the composition root."""

    reject_left: int = 0
    reject: Rejection | None = None
    delay_left: int = 0
    delay_ms: int = 0
    timeout_left: int = 0
    order_updates_paused_until: float = 0.0  # monotonic wall seconds
    token_expired: bool = False
    on_drop_feed: list[Callable[[], None]] = field(default_factory=list)
    on_token_expired: list[Callable[[], None]] = field(default_factory=list)

    def take_rejection(self) -> Rejection | None:
        if self.reject_left <= 0 or self.reject is None:
            return None
        self.reject_left -= 1
        return self.reject

    def take_delay_ms(self) -> int:
        if self.delay_left <= 0:
            return 0
        self.delay_left -= 1
        return self.delay_ms

    def take_timeout(self) -> bool:
        if self.timeout_left <= 0:
            return False
        self.timeout_left -= 1
        return True

    def apply(self, fault: AnyFault, monotonic_now: float) -> None:
        match fault:
            case RejectOrders():
                self.reject_left, self.reject = fault.count, Rejection(fault.error_code, fault.message)
            case DelayRest():
                self.delay_left, self.delay_ms = fault.count, fault.ms
            case TimeoutRest():
                self.timeout_left = fault.count
            case DropFeed():
                for callback in self.on_drop_feed:
                    callback()
            case PauseOrderUpdates():
                self.order_updates_paused_until = monotonic_now + fault.seconds
            case ExpireToken():
                self.token_expired = True
                for callback in self.on_token_expired:
                    callback()
            case RestoreToken():
                self.token_expired = False
            case RenewToken():  # the composition root swaps the credentials (`apply_fault`)
                self.token_expired = False
            case Reset():
                self.reject_left = self.delay_left = self.timeout_left = 0
                self.reject, self.delay_ms = None, 0
                self.order_updates_paused_until = 0.0
                self.token_expired = False
