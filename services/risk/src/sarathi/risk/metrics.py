"""Metrics of the risk service (`sarathi_risk_*`), on the app's own registry.

Per-position gauges are labelled by security id and removed when the position closes, so their
cardinality is the number of open positions (a handful).
"""

from __future__ import annotations

from sarathi.common.metrics import ServiceMetrics


class RiskMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("risk")
        self.positions = self.gauge("positions", "count", "Positions tracked, by status", ("status",))
        self.day_pnl = self.gauge("day_pnl", "inr", "Today's P&L (realized + open), by basis", ("basis",))
        self.position_pnl = self.gauge(
            "position_pnl", "inr", "P&L of an open position, by basis", ("security_id", "basis")
        )
        self.position_hwm = self.gauge(
            "position_hwm", "inr", "High-water mark of an armed trail", ("security_id",)
        )
        self.exits = self.counter("exits", "Exit commands sent, by reason", ("reason",))
        self.exit_resends = self.counter("exit_resends", "Exit commands re-sent (same id) while still open")
        self.trails_armed = self.counter("trails_armed", "Trailing profit locks armed")
        self.checks = self.counter("checks", "Position checks, by trigger", ("trigger",))
        self.loop_lateness = self.histogram(
            "loop_lateness", "seconds", "How late (market time) each 5-second check started",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0),
        )  # fmt: skip
        self.stale_contracts = self.gauge("stale_contracts", "count", "Held contracts without a fresh tick")
        self.ticks = self.counter("ticks", "Ticks of held contracts received")
        self.feed_errors = self.counter(
            "feed_errors", "Feed subscribe/unsubscribe/snapshot failures", ("op",)
        )
        self.entry_holds = self.counter(
            "entry_holds",
            "Contracts held for an entry the broker accepted, or released when it ended unfilled",
            ("action",),
        )
        self.store_errors = self.counter("store_errors", "Failed tracker writes (retried)")
        self.trading_state = self.gauge(
            "trading_state", "state", "1 for the current trading state", ("state",)
        )
        self.daily_loss_breaches = self.counter("daily_loss_breaches", "Daily loss limit breaches")
        self.broker_refusal_halts = self.counter(
            "broker_refusal_halts", "Trading HALTED because the broker refused our orders (DH-911)"
        )
        self.daily_loss_limit = self.gauge(
            "daily_loss_limit", "inr", "The daily loss limit: net P&L at or below minus this halts trading"
        )
