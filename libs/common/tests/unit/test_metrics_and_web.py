import pytest
from fastapi.testclient import TestClient

from sarathi.common.metrics import ServiceMetrics, metric_name
from sarathi.common.web import create_app


def test_metric_names_follow_the_convention() -> None:
    assert metric_name("feed", "ticks_published", "total") == "sarathi_feed_ticks_published_total"
    with pytest.raises(ValueError, match="unit"):
        metric_name("feed", "lag", "ms")
    with pytest.raises(ValueError, match="snake"):
        metric_name("Feed", "lag", "seconds")


def test_two_apps_in_one_process_have_separate_registries() -> None:
    a, b = ServiceMetrics("risk"), ServiceMetrics("risk")
    a.counter("exits", "exits").inc()
    assert b.registry.get_sample_value("sarathi_risk_exits_total") is None
    assert a.registry.get_sample_value("sarathi_risk_exits_total") == 1


async def _ok() -> None:
    return None


async def _broken() -> None:
    raise ConnectionError("nats not connected")


def test_readyz_is_503_naming_the_failing_check_and_healthz_stays_200() -> None:
    metrics = ServiceMetrics("orders")
    client = TestClient(create_app(service="orders", metrics=metrics, checks={"db": _ok, "nats": _broken}))
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"db": "ok", "nats": "ConnectionError: nats not connected"}
    assert client.get("/healthz").json() == {"status": "ok", "service": "orders"}
    assert metrics.registry.get_sample_value("sarathi_orders_up_state") == 0


def test_readyz_is_200_when_all_checks_pass_and_metrics_are_exposed() -> None:
    metrics = ServiceMetrics("feed")
    client = TestClient(create_app(service="feed", metrics=metrics, checks={"nats": _ok}))
    assert client.get("/readyz").status_code == 200
    body = client.get("/metrics").text
    assert "sarathi_feed_up_state 1.0" in body
