"""Prometheus scrapes every service and alerts on the metrics that exist; Grafana is provisioned
with that Prometheus and the repository's dashboards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sarathi.common.metrics import metric_name


@pytest.fixture(scope="module")
def prometheus(repo: Path) -> dict[str, Any]:
    config = yaml.safe_load((repo / "deploy/prometheus/prometheus.yml").read_text())
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="module")
def rules(repo: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load((repo / "deploy/prometheus/alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def scraped(prometheus: dict[str, Any]) -> dict[str, str]:
    """service label → target, over every static scrape target."""
    targets: dict[str, str] = {}
    for job in prometheus["scrape_configs"]:
        for static in job.get("static_configs", []):
            service = static.get("labels", {}).get("service")
            if service:
                assert job.get("metrics_path", "/metrics") == "/metrics"
                (target,) = static["targets"]
                targets[service] = target
    return targets


def test_prometheus_scrapes_every_service_on_its_port(
    prometheus: dict[str, Any], ports: dict[str, int]
) -> None:
    assert scraped(prometheus) == {service: f"{service}:{port}" for service, port in ports.items()}


def test_prometheus_loads_the_alert_rules(prometheus: dict[str, Any]) -> None:
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_every_alert_is_complete(rules: list[dict[str, Any]]) -> None:
    assert rules
    for rule in rules:
        assert re.fullmatch(r"Sarathi[A-Z]\w+", rule["alert"]), rule
        assert rule["expr"].strip()
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_a_trading_service_down_alerts_for_every_trading_service(
    rules: list[dict[str, Any]], trading_services: list[str]
) -> None:
    (down,) = (rule for rule in rules if rule["alert"] == "SarathiServiceDown")
    selector = re.fullmatch(r'up\{service=~"([\w|]+)"\} == 0', down["expr"])
    assert selector, down["expr"]
    assert sorted(selector.group(1).split("|")) == trading_services


def test_the_emulator_down_alert_stays_quiet_where_it_never_ran(rules: list[dict[str, Any]]) -> None:
    (sim_down,) = (rule for rule in rules if rule["alert"] == "SarathiSimDown")
    assert sim_down["expr"].startswith('up{service="sim"} == 0 and max_over_time(up{service="sim"}')


def test_not_ready_alert_matches_the_readiness_gauge_every_service_exports(
    rules: list[dict[str, Any]], services: list[str]
) -> None:
    (not_ready,) = (rule for rule in rules if rule["alert"] == "SarathiServiceNotReady")
    pattern = re.fullmatch(r'\{__name__=~"(.+)"\} == 0', not_ready["expr"])
    assert pattern, not_ready["expr"]
    for service in services:
        # The gauge ServiceMetrics creates for every service (set by /readyz).
        assert re.fullmatch(pattern.group(1), metric_name(service, "up", "state"))


def test_grafana_uses_the_compose_prometheus_with_a_fixed_uid(repo: Path, compose: dict[str, Any]) -> None:
    document = yaml.safe_load((repo / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    (datasource,) = document["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "prometheus", "dashboards refer to the data source by this uid"
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["isDefault"] is True
    assert "prometheus" in compose["services"]


def test_grafana_loads_the_dashboards_of_the_repository(repo: Path) -> None:
    document = yaml.safe_load((repo / "deploy/grafana/provisioning/dashboards/sarathi.yml").read_text())
    (provider,) = document["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "Sarathi"
    assert provider["allowUiUpdates"] is False, "dashboards are code: edited in the repository"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
