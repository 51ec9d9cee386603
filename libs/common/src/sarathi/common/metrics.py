"""Prometheus metrics: one explicit registry per app, names `sarathi_<service>_<thing>_<unit>`.

Services create their metrics on the registry their composition root hands them; nothing is
registered on the global default registry, so two apps in one test process never collide.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_NAME_PART = re.compile(r"^[a-z][a-z0-9_]*$")
UNITS = ("total", "seconds", "bytes", "ratio", "inr", "count", "info", "state", "ticks")


def metric_name(service: str, thing: str, unit: str) -> str:
    """`sarathi_<service>_<thing>_<unit>`; parts are lower snake case, the unit from `UNITS`."""
    for part in (service, thing, unit):
        if not _NAME_PART.match(part):
            raise ValueError(f"metric name part {part!r} must be lower snake case")
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not one of {UNITS}")
    return f"sarathi_{service}_{thing}_{unit}"


class ServiceMetrics:
    """The registry of one service and a factory for its metrics, named consistently."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.up = self.gauge("up", "state", "1 while the service is running and ready")

    def counter(self, thing: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        # prometheus_client appends `_total` to counters itself.
        name = metric_name(self.service, thing, "total").removesuffix("_total")
        return Counter(name, doc, labels, registry=self.registry)

    def gauge(self, thing: str, unit: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(metric_name(self.service, thing, unit), doc, labels, registry=self.registry)

    def histogram(
        self,
        thing: str,
        unit: str,
        doc: str,
        labels: tuple[str, ...] = (),
        buckets: tuple[float, ...] | None = None,
    ) -> Histogram:
        name = metric_name(self.service, thing, unit)
        if buckets is None:
            return Histogram(name, doc, labels, registry=self.registry)
        return Histogram(name, doc, labels, registry=self.registry, buckets=buckets)
