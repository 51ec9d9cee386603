"""The sim's own Prometheus metrics, on the service's registry (`sarathi_sim_*`)."""

from __future__ import annotations

from sarathi.common.metrics import ServiceMetrics


class SimMetrics:
    """Counters and gauges of the engine, the two WebSockets and the market sources."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.service = metrics
        self.engine_steps = metrics.counter("engine_steps", "market steps processed")
        self.engine_errors = metrics.counter(
            "engine_errors", "failures inside one step (broker or market), by part", ("part",)
        )
        self.engine_lag = metrics.gauge(
            "engine_lag", "seconds", "market seconds between the clock and the last processed step"
        )
        self.engine_step_size = metrics.gauge("engine_step", "seconds", "market seconds between two steps")
        self.feed_connections = metrics.gauge("feed_connections", "count", "open market-feed sockets")
        self.feed_messages = metrics.counter("feed_messages_sent", "market-feed messages (packets) sent")
        self.feed_disconnects = metrics.counter(
            "feed_disconnects", "market-feed disconnect packets sent, by Dhan reason", ("reason",)
        )
        self.feed_bad_requests = metrics.counter(
            "feed_bad_requests", "client requests refused or ignored, by Dhan reason", ("reason",)
        )
        self.static_ip_refusals = metrics.counter(
            "static_ip_refusals", "order calls refused: the client address is not whitelisted"
        )
        self.order_update_connections = metrics.gauge(
            "order_update_connections", "count", "logged-in order-update sockets"
        )
        self.order_updates = metrics.counter("order_updates_sent", "order_alert messages sent")
        self.order_updates_held = metrics.gauge(
            "order_updates_held", "count", "alerts held back by the pause_order_updates fault"
        )
        self.state_save_errors = metrics.counter(
            "state_save_errors", "snapshots of the sim state (SARATHI_SIM_STATE_DIR) not written"
        )
        self.clock_publish_failures = metrics.counter(
            "clock_publish_failures", "clock states that could not be published"
        )
        self.replay_frames = metrics.counter(
            "replay_frames", "recorded frames played back (replay mode), by outcome", ("outcome",)
        )
        self.paper_ticks = metrics.counter(
            "paper_ticks", "ticks taken from NATS into the market (paper mode)"
        )
