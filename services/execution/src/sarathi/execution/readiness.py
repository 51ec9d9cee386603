"""Execution's readiness: today's expiries listed for every configured underlying.

The instrument table (`refdata.derivative`, filled by the instrument sync) must give each
underlying an expiry to trade now, chosen as entries choose it (`domain.expiry.choose_expiry`);
until then no entry could be placed, and `/readyz` says which underlying lacks one and how the
last instrument sync went.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from sarathi.common.clock import Clock
from sarathi.common.domain.instruments import Underlying
from sarathi.common.web import NotReadyError
from sarathi.execution.adapters.derivatives import DerivativeLookup
from sarathi.execution.domain.expiry import ExpiryDayPolicy, choose_expiry
from sarathi.execution.domain.outcome import Refused
from sarathi.execution.refdata.sync import SyncReport


class InstrumentsReady:
    def __init__(
        self,
        derivatives: DerivativeLookup,
        clock: Clock,
        underlyings: Sequence[Underlying],
        policy: ExpiryDayPolicy,
        cutoff: time,
    ) -> None:
        self._derivatives = derivatives
        self._clock = clock
        self._underlyings = tuple(underlyings)
        self._policy = policy
        self._cutoff = cutoff
        self.last_sync: SyncReport | None = None

    def synced(self, report: SyncReport) -> None:
        self.last_sync = report

    async def ready(self) -> None:
        now = self._clock.now()
        for underlying in self._underlyings:
            expiries = await self._derivatives.expiries(underlying)
            outcome = choose_expiry(underlying, expiries, now, self._policy, self._cutoff)
            if isinstance(outcome, Refused):
                raise NotReadyError(f"instruments not loaded for today: {outcome.reason}{self._sync_said()}")

    def _sync_said(self) -> str:
        report = self.last_sync
        if report is None:
            return ""
        return f" (last instrument sync: {'ok' if report.ok else 'failed'}: {report.message[:200]})"
