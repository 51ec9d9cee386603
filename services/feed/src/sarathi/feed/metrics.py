"""The feed's Prometheus metrics, on the service's own registry (`ServiceMetrics("feed")`)."""

from __future__ import annotations

from sarathi.common.metrics import ServiceMetrics

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class FeedMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.registry = metrics.registry
        self.ticks_received = metrics.counter(
            "ticks_received", "tick-bearing packets decoded (ticker, quote, full)", ("segment",)
        )
        self.ticks_published = metrics.counter(
            "ticks_published", "ticks published on core NATS", ("segment",)
        )
        self.decode_errors = metrics.counter(
            "decode_errors", "packets skipped: unknown code, truncated, invalid or off-tick price", ("kind",)
        )
        self.publish_errors = metrics.counter("publish_errors", "tick publishes NATS refused")
        self.reconnects = metrics.counter(
            "reconnects", "reconnect attempts after a lost feed socket", ("connection",)
        )
        self.disconnects = metrics.counter(
            "disconnects", "feed sockets lost, by Dhan reason code or kind", ("reason",)
        )
        self.auth_failures = metrics.counter(
            "auth_failures",
            "times a feed connection started waiting for valid credentials (806-810, HTTP 401/403)",
            ("reason",),
        )
        self.auth_waiting = metrics.gauge(
            "auth_waiting",
            "state",
            "1 while Dhan refuses the connection's credentials and the feed retries every 5-30 s",
            ("connection",),
        )
        self.staleness = metrics.gauge(
            "staleness",
            "seconds",
            "seconds without a frame on each connection, counted in the session only (0 while closed)",
            ("connection",),
        )
        self.stale_instruments = metrics.gauge(
            "stale_instruments", "count", "instruments and connections stale now (judged in the session only)"
        )
        self.unanswered_instruments = metrics.gauge(
            "unanswered_instruments",
            "count",
            "subscribed instruments Dhan sent nothing for (no prev-close, no tick): they cannot tick",
        )
        self.market_open = metrics.gauge(
            "market_open", "state", "1 while the session runs by the feed's clock (market time), else 0"
        )
        self.lag = metrics.histogram(
            "lag",
            "seconds",
            "exchange time of the newest tick of a batch to its publication",
            buckets=LAG_BUCKETS,
        )
        self.subscriptions = metrics.gauge(
            "subscriptions", "count", "instruments subscribed", ("connection",)
        )
        self.connection_state = metrics.gauge(
            "connection",
            "state",
            "1 connected, 0 reconnecting, -1 waiting for valid credentials (retrying), -2 stopped for good",
            ("connection",),
        )
        self.recorded_frames = metrics.counter("recorded_frames", "raw frames written to the day's recording")
        self.recorder_errors = metrics.counter("recorder_errors", "recording writes that failed")
