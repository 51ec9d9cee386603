"""Metrics of the signals service (`sarathi_signals_*`)."""

from __future__ import annotations

from sarathi.common.metrics import ServiceMetrics


class SignalsMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("signals")
        self.ticks = self.counter(
            "ticks", "Index ticks by what the bar builder did with them", ("underlying", "outcome")
        )
        self.bars_closed = self.counter("bars_closed", "Bars closed and published", ("underlying",))
        self.decisions = self.counter(
            "decisions", "Trend decisions by direction", ("underlying", "direction")
        )
        self.decision_seconds = self.histogram(
            "decision", "seconds", "Bar close to signal published (wall time)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )  # fmt: skip
        self.warm_up = self.gauge(
            "warm_up", "state", "1 when the underlying's indicators are warmed up", ("underlying",)
        )
        self.recorder_errors = self.counter("recorder_errors", "reply recordings that failed to write")
