"""The operator control API (ARCHITECTURE §8): state, positions, P&L, progress, pause, resume,
flatten, kill.

Every route here needs `Authorization: Bearer <SARATHI_CONTROL_TOKEN>`, compared in constant time;
a missing or wrong token gets 401 before anything else is looked at (the body included), so it
changes nothing. With no token configured, every call gets 401. `/healthz`, `/readyz` and
`/metrics` are the common app's and stay open. Money is a JSON string of rupees.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sarathi.common.domain.money import to_paise_precision
from sarathi.risk.domain.control import Action, ActionRefusedError
from sarathi.risk.domain.daily import loss_limit_breached
from sarathi.risk.domain.pnl import position_pnl
from sarathi.risk.domain.trail import ExitDecision
from sarathi.risk.service import RiskService

_bearer = HTTPBearer(auto_error=False, description="SARATHI_CONTROL_TOKEN")


class ControlRequest(BaseModel):
    """Why the operator acts (recorded in the audit log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(default="", max_length=500)


class ActionReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str
    state: str
    previous_state: str
    exits: list[str]


class _ControlRoute(APIRoute):
    """A body that fails validation gets 422 without its input echoed back: FastAPI's own answer
    repeats the input, and a JSON `Infinity` or `NaN` in it cannot be rendered (a 500)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
                return JSONResponse({"detail": errors}, status_code=422)

        return route


def _money(value: Decimal) -> str:
    return str(to_paise_precision(value))


def build_router(service: Callable[[], RiskService | None], token: SecretStr, operator: str) -> APIRouter:
    def authorized(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> None:
        expected = token.get_secret_value().encode()
        given = credentials.credentials.encode() if credentials is not None else b""
        if not expected or not hmac.compare_digest(given, expected):
            raise HTTPException(
                401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        request.state.actor = operator  # who the audit log names

    router = APIRouter(tags=["control"], dependencies=[Depends(authorized)], route_class=_ControlRoute)

    def running() -> RiskService:
        current = service()
        if current is None:
            raise HTTPException(503, "the risk service is not running")
        return current

    @router.get("/state")
    async def state() -> dict[str, Any]:
        risk = running()
        current = risk.control.current
        day = risk.guardian.day(risk.clock.now())
        return {
            "state": current.state.value,
            "reason": current.reason,
            "actor": current.actor,
            "updated_at": current.updated_at.isoformat(),
            "daily_loss_breached": loss_limit_breached(day.pnl, risk.guardian.rules),
        }

    @router.get("/positions")
    async def positions() -> list[dict[str, Any]]:
        risk = running()
        now = risk.clock.now()
        rows = []
        for position in risk.guardian.book.all():
            ltp = risk.guardian.ltp(position.contract)
            price = ltp.price if ltp is not None else None
            pnl = position_pnl(position, price, risk.calculator, now.date())
            age = None if ltp is None else round((now - ltp.at).total_seconds(), 3)
            rows.append(
                {
                    "entry_order_id": position.entry_order_id,
                    "security_id": position.security_id,
                    "segment": position.segment.wire,
                    "underlying": position.underlying.value,
                    "status": position.status.value,
                    "quantity": position.quantity,
                    "average_entry": str(position.average_entry),
                    "ltp": None if price is None else str(price),
                    "pnl_gross": _money(pnl.gross),
                    "pnl_net": _money(pnl.net),
                    "hwm": None if position.hwm is None else _money(position.hwm),
                    "trail_armed": position.trail_armed,
                    "last_tick_age_seconds": age,
                    "stale": position.is_open and risk.guardian.is_stale(position, now),
                    "exit_reason": position.exit_reason.value if position.exit_reason else None,
                    "opened_at": position.opened_at.isoformat(),
                    "closed_at": None if position.closed_at is None else position.closed_at.isoformat(),
                }
            )
        return rows

    @router.get("/pnl")
    async def pnl() -> dict[str, Any]:
        risk = running()
        day = risk.guardian.day(risk.clock.now())
        return {
            "trading_day": day.day.isoformat(),
            "realized_gross": _money(day.pnl.realized),
            "unrealized_gross": _money(day.pnl.unrealized),
            "gross": _money(day.pnl.gross),
            "charges": _money(day.pnl.charges),
            "net": _money(day.pnl.net),
            "daily_loss_limit": _money(risk.guardian.rules.daily_loss_limit),
            "daily_loss_breached": loss_limit_breached(day.pnl, risk.guardian.rules),
            "open_positions": day.open_positions,
            "closed_positions": day.closed_positions,
        }

    @router.get("/progress")
    async def progress() -> dict[str, Any]:
        """Per held contract, the exchange time through which its ticks are fully processed."""
        risk = running()
        report = risk.guardian.progress(risk.clock.now())
        return {
            "now": report.now.isoformat(),
            "contracts": [
                {
                    "segment": held.contract[0].wire,
                    "security_id": held.contract[1],
                    "held_since": held.held_since.isoformat(),
                    "ticks_through": None if held.ticks_through is None else held.ticks_through.isoformat(),
                }
                for held in report.contracts
            ],
            "positions_open": report.positions_open,
            "positions_closing": report.positions_closing,
        }

    async def act(action: Action, request: Request, body: ControlRequest | None) -> ActionReply:
        risk = running()
        actor: str = request.state.actor
        reason = (body.reason if body is not None else "").strip() or f"operator {action.value}"
        day = risk.guardian.day(risk.clock.now())
        try:
            step = await risk.control.act(
                action,
                actor=actor,
                reason=reason,
                remote_address=request.client.host if request.client else None,
                daily_loss_breached=loss_limit_breached(day.pnl, risk.guardian.rules),
            )
        except ActionRefusedError as exc:
            raise HTTPException(409, str(exc)) from None
        exits: list[str] = []
        if step.flatten is not None:
            decision = ExitDecision(step.flatten, None, None, f"operator {action.value}: {reason}")
            exits = await risk.guardian.flatten(decision, actor)
        return ActionReply(
            action=action.value, state=step.after.value, previous_state=step.before.value, exits=exits
        )

    @router.post("/pause")
    async def pause(request: Request, body: ControlRequest | None = None) -> ActionReply:
        return await act(Action.PAUSE, request, body)

    @router.post("/resume")
    async def resume(request: Request, body: ControlRequest | None = None) -> ActionReply:
        return await act(Action.RESUME, request, body)

    @router.post("/flatten")
    async def flatten(request: Request, body: ControlRequest | None = None) -> ActionReply:
        return await act(Action.FLATTEN, request, body)

    @router.post("/kill")
    async def kill(request: Request, body: ControlRequest | None = None) -> ActionReply:
        return await act(Action.KILL, request, body)

    return router
