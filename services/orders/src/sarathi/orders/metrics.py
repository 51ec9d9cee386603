"""The orders service's Prometheus metrics (`sarathi_orders_*`), on the app's own registry."""

from __future__ import annotations

from sarathi.common.metrics import ServiceMetrics


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
        self.commands = metrics.counter(
            "commands", "Commands handled, by kind and outcome", ("kind", "outcome")
        )
