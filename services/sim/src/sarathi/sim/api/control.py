"""The sim's control API under `/sim`: clock, scenarios, faults and state, for tests and demos.

| call | body | effect |
|---|---|---|
| `GET /sim/clock` | | the clock state, market time now, the engine's grid step, the held day's `holds` |
| `GET /sim/progress` | | how far the engine has got and what could still move (cheap, for lockstep) |
| `POST /sim/clock` | `{"start": ISO-8601 with offset, "speed": n, "paused": false}` | restart market time |
| `POST /sim/clock/pause`, `/resume` | | pause / resume market time |
| `POST /sim/clock/run-until` | `{"run_until": ISO-8601 with offset, or null}` | stop market time there |
| `POST /sim/scenario` | `{"underlying": "NIFTY", "path": [[s, price], ...]}` | script an index path |
| `POST /sim/scenario` | `{"security_id": "...", "path": [[s, price], ...]}` | script a premium path |
| (scenario) | `s`: seconds from market-now (see `script_start`); the market holds the last value | |
| `POST /sim/faults` | a `FaultRequest` (`{"kind": "drop_feed"}` ...) | inject a fault |
| `GET /sim/state` | | the broker's books, the clock, the sockets, the faults |

In paper mode the clock is the wall clock: `POST /sim/clock`, `/pause` and `/resume` answer 409
`clock_fixed`. In replay and paper modes the prices are ticks: `POST /sim/scenario` answers 409
`scenario_unavailable`.

Unlike `/v2`, errors here are plain JSON, `{"error": ..., "detail": ...}`, always 4xx for bad
input: 422 for a body that does not validate (or a value the clock or market refuses), 404 for
an unknown security id. The routes parse bodies themselves so that the app's Dhan-shaped
validation handler (for `/v2`) never applies to them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Protocol, Self, TypeVar

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from sarathi.common.domain.instruments import Underlying
from sarathi.sim.api.auth import Credentials
from sarathi.sim.api.static_ip import StaticIpGate
from sarathi.sim.broker.port import Broker
from sarathi.sim.clock import MAX_SPEED, MIN_SPEED, ClockSettingError, SimClockController
from sarathi.sim.engine import Engine
from sarathi.sim.faults import AnyFault, FaultRequest, Faults, RenewToken
from sarathi.sim.holds import ClockHolds
from sarathi.sim.instruments import Universe
from sarathi.sim.market.tick_market import ScenarioUnavailableError
from sarathi.sim.ws.feed_hub import FeedHub
from sarathi.sim.ws.order_updates import OrderUpdateHub

ScenarioPoint = tuple[float, Decimal]


class ScenarioScripting(Protocol):
    """What the control API asks of the market model to script a path from `start` on."""

    def script_underlying(
        self, underlying: Underlying, start: datetime, points: Sequence[ScenarioPoint]
    ) -> None: ...

    def script_contract(self, security_id: str, start: datetime, points: Sequence[ScenarioPoint]) -> None: ...


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClockRequest(_Body):
    start: AwareDatetime
    speed: Annotated[Decimal, Field(ge=MIN_SPEED, le=MAX_SPEED, allow_inf_nan=False)]
    paused: bool = False


class RunUntilRequest(_Body):
    run_until: AwareDatetime | None


Seconds = Annotated[float, Field(ge=0, le=7 * 86400, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(gt=0, le=10_000_000, allow_inf_nan=False)]


class ScenarioRequest(_Body):
    underlying: Underlying | None = None
    security_id: Annotated[str, Field(pattern=r"^\d{1,12}$")] | None = None
    path: Annotated[list[tuple[Seconds, Price]], Field(min_length=1, max_length=100_000)]

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.underlying is None) == (self.security_id is None):
            raise ValueError("give exactly one of `underlying` and `security_id`")
        return self


_FAULT = TypeAdapter[AnyFault](FaultRequest)
M = TypeVar("M", bound=BaseModel)


class ControlError(Exception):
    def __init__(self, status: int, error: str, detail: Any) -> None:
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "detail": self.detail}, status_code=self.status)


def _invalid(exc: ValidationError) -> ControlError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    return ControlError(422, "invalid_request", jsonable_encoder(errors))


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _invalid(exc) from None


@dataclass
class ControlTargets:
    """Everything the control API acts on (built by the composition root)."""

    controller: SimClockController
    engine: Engine
    broker: Broker
    faults: Faults
    credentials: Credentials
    universe: Universe
    feed: FeedHub
    order_updates: OrderUpdateHub
    scenario: ScenarioScripting
    monotonic: Callable[[], float] = field(default=time.monotonic)
    clock_fixed: str | None = None  # why the clock may not be changed (paper mode), or None
    static_ip: StaticIpGate = field(default_factory=StaticIpGate)
    holds: ClockHolds | None = None  # the held day's clock protocol (`sarathi.sim.holds`)


def _check_clock_free(targets: ControlTargets) -> None:
    if targets.clock_fixed is not None:
        raise ControlError(409, "clock_fixed", targets.clock_fixed)


def clock_view(targets: ControlTargets) -> dict[str, Any]:
    state = targets.controller.state
    return {
        "market_start": state.market_start.isoformat(),
        "wall_start": state.wall_start.isoformat(),
        "speed": str(state.speed),
        "paused": state.paused,
        "run_until": None if state.run_until is None else state.run_until.isoformat(),
        "now": targets.controller.now().isoformat(),
        "step_seconds": targets.engine.grid.step.total_seconds(),
        "next_step": targets.engine.next_instant.isoformat(),
        "holds": None if targets.holds is None else targets.holds.stats.view(),
    }


def progress_view(targets: ControlTargets) -> dict[str, Any]:
    """What a driver holding the clock at each step polls: cheap (no serialised books)."""
    activity = targets.broker.activity()
    run_until = targets.controller.state.run_until
    return {
        "now": targets.controller.now().isoformat(),
        "run_until": None if run_until is None else run_until.isoformat(),
        "next_step": targets.engine.next_instant.isoformat(),
        "order_update_frames": targets.order_updates.frames_sent,
        "feed_subscriptions": [
            {"segment": segment, "security_id": security_id}
            for segment, security_id in targets.feed.subscribed()
        ],
        "working_orders": activity.working_orders,
        "open_positions": activity.open_positions,
    }


def apply_fault(targets: ControlTargets, fault: AnyFault) -> None:
    """Apply `fault` and keep the parts that mirror the fault state in step with it."""
    targets.faults.apply(fault, targets.monotonic())
    if isinstance(fault, RenewToken):
        targets.credentials.renew(fault.token)
        targets.feed.expire_all()  # sockets opened with the old token: 807, as any expired token
        targets.order_updates.close_all()
    targets.credentials.expired = targets.faults.token_expired
    targets.order_updates.reschedule()


def script_start(targets: ControlTargets) -> datetime:
    """Where a new script starts: market-now, or the engine's next step if it has not reached it.

    A new script replaces the old one and the model's own path applies before its start; the
    engine runs up to a step behind the clock, so a script starting at "now" could leave that
    pending step on the model's path instead of either script.
    """
    return min(targets.controller.now(), targets.engine.next_instant)


def _script(targets: ControlTargets, request: ScenarioRequest) -> datetime:
    start, points = script_start(targets), list(request.path)
    try:
        if request.underlying is not None:
            targets.scenario.script_underlying(request.underlying, start, points)
        else:
            assert request.security_id is not None  # by the model validator
            try:
                targets.universe.get(request.security_id)
            except KeyError:
                raise ControlError(404, "unknown_security_id", request.security_id) from None
            targets.scenario.script_contract(request.security_id, start, points)
    except ScenarioUnavailableError as exc:
        raise ControlError(409, "scenario_unavailable", str(exc)) from None
    except ValueError as exc:  # the market refuses the path (below the tick, not increasing ...)
        raise ControlError(422, "invalid_scenario", str(exc)) from None
    return start


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def build_control_router(targets: ControlTargets) -> APIRouter:
    router = APIRouter(prefix="/sim", tags=["sim control"])

    @router.get("/clock")
    async def get_clock() -> JSONResponse:
        return JSONResponse(clock_view(targets))

    @router.get("/progress")
    async def get_progress() -> JSONResponse:
        return JSONResponse(progress_view(targets))

    @router.post("/clock")
    async def set_clock(request: Request) -> JSONResponse:
        try:
            _check_clock_free(targets)
            body = _parse(ClockRequest, await request.body())
            try:
                targets.controller.set(body.start, body.speed)
            except (ClockSettingError, ValueError) as exc:
                raise ControlError(422, "invalid_clock", str(exc)) from None
            if body.paused:
                targets.controller.pause()
        except ControlError as exc:
            return exc.response()
        return JSONResponse(clock_view(targets))

    @router.post("/clock/pause")
    async def pause_clock() -> JSONResponse:
        try:
            _check_clock_free(targets)
        except ControlError as exc:
            return exc.response()
        targets.controller.pause()
        return JSONResponse(clock_view(targets))

    @router.post("/clock/resume")
    async def resume_clock() -> JSONResponse:
        try:
            _check_clock_free(targets)
        except ControlError as exc:
            return exc.response()
        targets.controller.resume()
        return JSONResponse(clock_view(targets))

    @router.post("/clock/run-until")
    async def run_until(request: Request) -> JSONResponse:
        try:
            _check_clock_free(targets)
            body = _parse(RunUntilRequest, await request.body())
            try:
                targets.controller.run_until(body.run_until)
            except ClockSettingError as exc:
                raise ControlError(422, "invalid_clock", str(exc)) from None
        except ControlError as exc:
            return exc.response()
        return JSONResponse(clock_view(targets))

    @router.post("/scenario")
    async def script(request: Request) -> JSONResponse:
        try:
            body = _parse(ScenarioRequest, await request.body())
            start = _script(targets, body)
        except ControlError as exc:
            return exc.response()
        return JSONResponse({"status": "scripted", "start": start.isoformat()})

    @router.post("/faults")
    async def inject(request: Request) -> JSONResponse:
        try:
            fault = _FAULT.validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc).response()
        apply_fault(targets, fault)
        shown = fault.model_dump(mode="json", exclude={"token"})  # a token is never echoed
        return JSONResponse({"status": "applied", "fault": shown})

    @router.get("/state")
    async def state() -> JSONResponse:
        faults = targets.faults
        paused_for = _finite(max(0.0, faults.order_updates_paused_until - targets.monotonic()))
        return JSONResponse(
            jsonable_encoder(
                {
                    "clock": clock_view(targets),
                    "broker": targets.broker.snapshot(),
                    "feed": {"connections": len(targets.feed)},
                    "order_updates": {
                        "connections": len(targets.order_updates),
                        "held": targets.order_updates.held,
                    },
                    "static_ip": {
                        "enforced": targets.static_ip.enforced,
                        "whitelist": sorted(targets.static_ip.allowed or ()),
                        "refused": targets.static_ip.refused,
                    },
                    "faults": {
                        "reject_left": faults.reject_left,
                        "delay_left": faults.delay_left,
                        "timeout_left": faults.timeout_left,
                        "order_updates_paused_seconds": paused_for,
                        "token_expired": faults.token_expired,
                    },
                }
            )
        )

    return router
