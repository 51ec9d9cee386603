"""The orders service's Prometheus metrics (`sarathi_orders_*`), on the app's own registry."""

from __future__ import annotations

from sarathi.common.domain.trading import Leg
from sarathi.common.metrics import ServiceMetrics

PLACEMENT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TIME_TO_FILL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class OrdersMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.service = metrics
        self.orders = metrics.counter(
            "orders",
            "Order placements by outcome (placed, rejected, unknown, not_sent) and reason",
            ("outcome", "reason"),
        )
        self.fills = metrics.counter("fills", "Fills recorded, by source of the report", ("source",))
        self.rate_limit_wait = metrics.counter(
            "rate_limit_waits", "Broker calls that queued behind our own rate limits", ("category",)
        )
        self.rate_limit_wait_seconds = metrics.histogram(
            "rate_limit_wait", "seconds", "How long a call queued behind our rate limits", ("category",)
        )
        self.reconciliation_drift = metrics.gauge(
            "reconciliation_drift", "count", "Differences found by the last reconciliation pass"
        )
        self.reconciliation_last_success = metrics.gauge(
            "reconciliation_last_success", "seconds", "Unix time of the last successful reconciliation"
        )
        self.reconciliation_failures = metrics.counter(
            "reconciliation_failures", "Failed reconciliation passes"
        )
        self.order_update_reconnects = metrics.counter(
            "order_update_reconnects", "Order-update socket (re)connections after the first"
        )
        self.order_update_alerts = metrics.counter(
            "order_update_alerts", "Order alerts received on the socket"
        )
        self.token_seconds_to_expiry = metrics.gauge(
            "token_expiry", "seconds", "Seconds until the Dhan access token expires (NaN when unknown)"
        )
        self.short_positions = metrics.counter(
            "short_positions", "Broken invariant: a contract's fills netted below zero"
        )
        self.duplicate_orders = metrics.counter(
            "duplicate_orders",
            "Alert: broker orders beyond what their command asked for (reason DUPLICATE), when first seen",
        )
        self.duplicates_closed = metrics.counter(
            "duplicates_closed", "Duplicate entries closed (their own legs cancelled, their units sold)",
            ("outcome",),
        )  # fmt: skip
        self.broker_refusals = metrics.counter(
            "broker_refusals",
            "Alert: order calls Dhan refused for a cause no retry fixes (DH-911: IP not whitelisted)",
            ("code",),
        )
        self.commands = metrics.counter(
            "commands", "Commands handled, by kind and outcome", ("kind", "outcome")
        )
        self.placement_seconds = metrics.histogram(
            "placement",
            "seconds",
            "A command's order from the first send to a known outcome, by outcome (wall time)",
            ("outcome",),
            buckets=PLACEMENT_BUCKETS,
        )
        self.time_to_fill = metrics.histogram(
            "time_to_fill",
            "seconds",
            "Our entry or exit order accepted to each of its fills, by leg (market time)",
            ("leg",),
            buckets=TIME_TO_FILL_BUCKETS,
        )

    def observe_fill(self, leg: Leg, seconds: float) -> None:
        """`Recorder(on_fill=...)`: one fill of our entry or exit order, `seconds` after acceptance."""
        self.time_to_fill.labels(leg=leg.value.lower()).observe(seconds)
