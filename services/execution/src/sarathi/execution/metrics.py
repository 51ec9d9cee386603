"""Metrics of the execution service (`sarathi_execution_*`)."""

from __future__ import annotations

from sarathi.common.metrics import ServiceMetrics


class ExecutionMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("execution")
        self.decisions = self.counter(
            "decisions", "Signals decided, by outcome and refusing gate", ("underlying", "outcome", "gate")
        )
        self.duplicates = self.counter("duplicate_signals", "Signals already decided (redelivered)")
        self.chain_lookups = self.counter("chain_cache_lookups", "Option-chain cache lookups", ("result",))
        self.decision_seconds = self.histogram(
            "decision", "seconds", "Signal received to decision stored and command published (wall time)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0),
        )  # fmt: skip
        self.open_entries = self.gauge(
            "open_entries", "count", "Entries of the current campaign (entry + pyramids)", ("underlying",)
        )
        self.instrument_sync = self.counter("instrument_syncs", "Instrument syncs by result", ("result",))
        self.recorder_errors = self.counter(
            "recorder_errors", "reply and instrument recordings that failed to write"
        )

    def chain_lookup(self, hit: bool) -> None:
        self.chain_lookups.labels("hit" if hit else "miss").inc()
