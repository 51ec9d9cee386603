"""Sending an exit: the `ExitPosition` command (deterministic id) and its `ExitTriggered` event.

The command goes first: it is what the latency budget is for. Its id is derived from the entry
order id and the reason (`domain.ids`), so resending it — after a restart, or because the position
is still open — is de-duplicated by JetStream and by orders' command table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus
from sarathi.common.domain.instruments import SecurityId
from sarathi.common.domain.money import to_paise_precision
from sarathi.common.messages.base import envelope
from sarathi.common.messages.orders import ExitPosition
from sarathi.common.messages.risk import ExitTriggered, TrailingArmed
from sarathi.risk.domain import ids
from sarathi.risk.domain.position import TrackedPosition
from sarathi.risk.domain.trail import ExitDecision


def _paise(value: Decimal | None) -> Decimal | None:
    return None if value is None else to_paise_precision(value)


class ExitSender:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def send_command(self, position: TrackedPosition, requested_by: str, now: datetime) -> str:
        """Publish the position's exit command (its reason must be set); returns the command id."""
        if position.exit_reason is None:
            raise ValueError(f"{position.entry_order_id}: an exit needs a reason")
        command_id = ids.exit_command_id(position.entry_order_id, position.exit_reason)
        command = ExitPosition(
            **envelope(
                message_id=command_id,
                correlation_id=position.correlation_id,
                causation_id=ids.exit_triggered_id(command_id),
                event_time=now,
            ),
            security_id=SecurityId(position.security_id),
            segment=position.segment,
            underlying=position.underlying,
            reason=position.exit_reason,
            requested_by=requested_by,
        )
        await self._bus.publish_durable(subjects.ORDER_CMD_EXIT, command)
        return command_id

    async def announce(
        self, position: TrackedPosition, decision: ExitDecision, ltp: Decimal | None, now: datetime
    ) -> None:
        """`ExitTriggered` (skipped when no price was ever seen: the event needs one)."""
        if ltp is None:
            return
        command_id = ids.exit_command_id(position.entry_order_id, decision.reason)
        pnl = decision.pnl if decision.pnl is not None else position.gross_pnl(ltp)
        event = ExitTriggered(
            **envelope(
                message_id=ids.exit_triggered_id(command_id),
                correlation_id=position.correlation_id,
                event_time=now,
            ),
            security_id=SecurityId(position.security_id),
            segment=position.segment,
            underlying=position.underlying,
            pnl=to_paise_precision(pnl),
            ltp=ltp,
            reason=decision.reason,
            hwm=_paise(decision.hwm),
        )
        await self._bus.publish_durable(subjects.risk_event(event.type), event)

    async def armed(self, position: TrackedPosition, pnl: Decimal, ltp: Decimal, now: datetime) -> None:
        event = TrailingArmed(
            **envelope(
                message_id=ids.trailing_armed_id(position.entry_order_id),
                correlation_id=position.correlation_id,
                event_time=now,
            ),
            security_id=SecurityId(position.security_id),
            segment=position.segment,
            underlying=position.underlying,
            pnl=to_paise_precision(pnl),
            ltp=ltp,
            hwm=to_paise_precision(position.hwm if position.hwm is not None else pnl),
        )
        await self._bus.publish_durable(subjects.risk_event(event.type), event)
