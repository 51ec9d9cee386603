"""The operator control API (ARCHITECTURE §8): state, positions, P&L, progress, pause, resume,
flatten, kill, clear-kill.

The app's `ControlGate` (`sarathi.common.web`) checks `Authorization: Bearer <SARATHI_CONTROL_TOKEN>`
in constant time before anything else — the body included — so a missing or wrong token gets 401
and changes nothing (with no token configured every call gets 401); a body over 16 KiB gets 413
unread, and a 422 never repeats its input. `gate_passed` keeps these routes closed if the router is
ever mounted without the gate. `/healthz`, `/readyz` and `/metrics` stay open. Money is a JSON
string of rupees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import to_paise_precision
from sarathi.common.web import gate_passed
from sarathi.risk.domain.control import Action, ActionRefusedError, Halt, HaltCause, resume_refusal
from sarathi.risk.domain.daily import loss_limit_breached
from sarathi.risk.domain.position import TrackedPosition
from sarathi.risk.domain.trail import ExitDecision
from sarathi.risk.service import RiskService


class ControlRequest(BaseModel):
    """Why the operator acts (recorded in the audit log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(default="", max_length=500)


class ClearKillRequest(BaseModel):
    """Clearing a kill needs a reason (recorded in the audit log and on the halt)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class Exited(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry_order_id: str
    contract: str
    security_id: str
    quantity: int
    lots: int | None


class ActionReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str
    state: str
    previous_state: str
    exits: list[str]  # entry order ids of the positions exited
    exited: list[Exited]  # the same, named, with quantities


def _money(value: Decimal) -> str:
    return str(to_paise_precision(value))


def _halt_view(halt: Halt) -> dict[str, str]:
    return {
        "cause": halt.cause.value,
        "trading_day": halt.trading_day.isoformat(),
        "at": halt.at.isoformat(),
        "actor": halt.actor,
        "reason": halt.reason,
        "holds_until": "cleared" if halt.cause is HaltCause.KILL else "end of trading day",
    }


async def _named(risk: RiskService, position: TrackedPosition) -> tuple[str, int | None]:
    """The contract's name (`NIFTY 24200 CE 22-Sep`) and the position's lots, when refdata knows it."""
    opened_on: date = position.opened_at.astimezone(IST).date()
    contract = await risk.names.contract(position.contract, opened_on)
    if contract is None:
        return f"{position.underlying.value} (security id {position.security_id})", None
    lots = position.quantity // contract.lot_size if contract.lot_size > 0 else None
    return contract.name, lots


async def _position_row(risk: RiskService, position: TrackedPosition, now: datetime) -> dict[str, Any]:
    ltp = risk.guardian.ltp(position.contract)
    pnl = risk.guardian.position_pnl(position, now)  # the day is the IST trading day
    age = None if ltp is None else round((now - ltp.at).total_seconds(), 3)
    name, lots = await _named(risk, position)
    return {
        "contract": name,
        "lots": lots,
        "entry_order_id": position.entry_order_id,
        "security_id": position.security_id,
        "segment": position.segment.wire,
        "underlying": position.underlying.value,
        "status": position.status.value,
        "quantity": position.quantity,
        "average_entry": str(position.average_entry),
        "ltp": None if ltp is None else str(ltp.price),
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


def build_router(service: Callable[[], RiskService | None], operator: str) -> APIRouter:
    router = APIRouter(tags=["control"], dependencies=[Depends(gate_passed)])

    def running() -> RiskService:
        current = service()
        if current is None:
            raise HTTPException(503, "the risk service is not running")
        return current

    def breached_now(risk: RiskService) -> bool:
        return loss_limit_breached(risk.guardian.day(risk.clock.now()).pnl, risk.guardian.rules)

    @router.get("/state")
    async def state() -> dict[str, Any]:
        """The state, and the one account of what holds it: the sticky halts in force."""
        risk = running()
        current = risk.control.current
        halts = risk.control.halts()
        refusal = resume_refusal(current.state, halts, daily_loss_breached=breached_now(risk))
        return {
            "state": current.state.value,
            "reason": current.reason,
            "actor": current.actor,
            "updated_at": current.updated_at.isoformat(),
            "halts": [_halt_view(h) for h in halts.in_force()],
            "resume_refused": refusal,
        }

    @router.get("/positions")
    async def positions() -> list[dict[str, Any]]:
        risk = running()
        now = risk.clock.now()
        return [await _position_row(risk, position, now) for position in risk.guardian.book.all()]

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
            # breached today: the halt is recorded (it holds whatever the P&L does next), or now
            "daily_loss_breached": risk.control.halts().daily_loss is not None
            or loss_limit_breached(day.pnl, risk.guardian.rules),
            "open_positions": day.open_positions,
            "closed_positions": day.closed_positions,
        }

    async def act(action: Action, request: Request, reason: str) -> ActionReply:
        risk = running()
        reason = reason.strip() or f"operator {action.value}"
        try:
            step = await risk.control.act(
                action,
                actor=operator,
                reason=reason,
                remote_address=request.client.host if request.client else None,
                daily_loss_breached=breached_now(risk),
            )
        except ActionRefusedError as exc:
            raise HTTPException(409, str(exc)) from None
        exits: list[str] = []
        exited: list[Exited] = []
        if step.flatten is not None:
            open_now = {p.entry_order_id: p for p in risk.guardian.book.open_positions()}
            decision = ExitDecision(step.flatten, None, None, f"operator {action.value}: {reason}")
            exits = await risk.guardian.flatten(decision, operator)
            for entry in exits:
                position = open_now.get(entry) or risk.guardian.book.get(entry)
                if position is None:
                    continue
                name, lots = await _named(risk, position)
                exited.append(Exited(entry_order_id=entry, contract=name, security_id=position.security_id,
                                     quantity=position.quantity, lots=lots))  # fmt: skip
        return ActionReply(
            action=action.value,
            state=step.after.value,
            previous_state=step.before.value,
            exits=exits,
            exited=exited,
        )

    def why(body: ControlRequest | None) -> str:
        return body.reason if body is not None else ""

    @router.post("/pause")
    async def pause(request: Request, body: ControlRequest | None = None) -> ActionReply:
        return await act(Action.PAUSE, request, why(body))

    @router.post("/resume")
    async def resume(request: Request, body: ControlRequest | None = None) -> ActionReply:
        """→ ACTIVE; refused while a kill holds or today's daily-loss halt does."""
        return await act(Action.RESUME, request, why(body))

    @router.post("/flatten")
    async def flatten(request: Request, body: ControlRequest | None = None) -> ActionReply:
        return await act(Action.FLATTEN, request, why(body))

    @router.post("/kill")
    async def kill(request: Request, body: ControlRequest | None = None) -> ActionReply:
        """→ HALTED, every position exited; resume and pause are refused until the kill is cleared."""
        return await act(Action.KILL, request, why(body))

    @router.post("/clear-kill")
    async def clear_kill(request: Request, body: ClearKillRequest) -> ActionReply:
        """Lift the kill (a reason is required); the state stays HALTED until `resume`."""
        return await act(Action.CLEAR_KILL, request, body.reason)

    return router
