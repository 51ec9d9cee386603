"""Alerts reach a person, and the rules are tested: Alertmanager's configuration passes amtool and
routes every alert of alerts.yml to the receiver written here (a new alert without a line in
ROUTES fails); every alert has promtool unit tests in which it fires and in which it must not;
Prometheus, docker-compose and Kubernetes all carry that Alertmanager."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from .conftest import K8S, REPO, tool_or_skip

ALERTS = REPO / "deploy/prometheus/alerts.yml"
RULE_TESTS = sorted((REPO / "deploy/prometheus/tests").glob("*.yml"))
ALERTMANAGER = REPO / "deploy/alertmanager/alertmanager.yml"
START = REPO / "deploy/alertmanager/start.sh"
IST = ZoneInfo("Asia/Kolkata")
SECRETS = "/etc/alertmanager/secrets"
TOKEN_FILE = f"{SECRETS}/telegram-bot-token"
TMP = "/tmp"  # noqa: S108 - the path the deployments must give a writable tmpfs, not a file we write

# alert → (receiver, the time interval it is limited to, or None for any hour).
ROUTES: dict[str, tuple[str, str | None]] = {
    "SarathiServiceDown": ("telegram-page", None),
    "SarathiSimDown": ("telegram-info", None),
    "SarathiServiceNotReady": ("telegram-page", None),
    "SarathiFeedStale": ("telegram-info", "market-hours"),
    "SarathiFeedStopped": ("telegram-page", "trading-day"),
    "SarathiRiskLoopLate": ("telegram-info", "market-hours"),
    "SarathiRiskLoopStalled": ("telegram-page", None),
    "SarathiDailyLossNearLimit": ("telegram-info", None),
    "SarathiTradingHalted": ("telegram-page", None),
    "SarathiOrderRejects": ("telegram-info", None),
    "SarathiOrderOutcomeUnknown": ("telegram-info", None),
    "SarathiShortPosition": ("telegram-page", None),
    "SarathiDuplicateOrder": ("telegram-page", None),
    "SarathiBrokerRefusedOrders": ("telegram-page", None),
    "SarathiTokenExpiring": ("telegram-page", "trading-day"),
    "SarathiReconciliationDrift": ("telegram-page", None),
    "SarathiReconciliationFailing": ("telegram-info", None),
}


def alert_rules() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"] if "alert" in rule}


ALERT_NAMES = sorted(alert_rules())


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    document = yaml.safe_load(ALERTMANAGER.read_text())
    assert isinstance(document, dict)
    return document


def amtool_version(amtool: str) -> tuple[int, int]:
    result = subprocess.run([amtool, "--version"], capture_output=True, text=True, check=False, timeout=30)
    found = re.search(r"version (\d+)\.(\d+)", result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    return int(found.group(1)), int(found.group(2))


@pytest.fixture(scope="module")
def checkable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The configuration as the installed amtool can read it. The image (v0.28) reads the bot
    token from `bot_token_file`, which Alertmanager 0.26 introduced; Debian bookworm's amtool is
    0.25, so for it (only) that one key becomes an inline placeholder `bot_token`."""
    amtool = tool_or_skip("amtool")
    text = ALERTMANAGER.read_text()
    if amtool_version(amtool) < (0, 26):
        text, count = re.subn(rf"bot_token_file: {re.escape(TOKEN_FILE)}\n", "bot_token: checked\n", text)
        assert count == 2, "both Telegram receivers read the token file"
    path = tmp_path_factory.mktemp("alertmanager") / "alertmanager.yml"
    path.write_text(text)
    return path


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool_or_skip("amtool"), *args], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_configuration_passes_amtool(checkable: Path) -> None:
    result = amtool("check-config", str(checkable))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_each_alert_reaches_its_receiver(alert: str, checkable: Path) -> None:
    assert alert in ROUTES, f"{alert}: say in ROUTES which receiver gets it (and when)"
    labels = {"alertname": alert, **alert_rules()[alert]["labels"]}
    receiver, _ = ROUTES[alert]
    result = amtool(
        "config", "routes", "test", f"--config.file={checkable}", f"--verify.receivers={receiver}",
        *(f"{name}={value}" for name, value in labels.items()),
    )  # fmt: skip
    assert result.returncode == 0, f"{alert}: {result.stdout.strip()} {result.stderr.strip()}"
    assert result.stdout.split() == [receiver]


def test_routes_name_no_alert_that_does_not_exist() -> None:
    assert set(ROUTES) <= set(ALERT_NAMES)


# ---- the route an alert takes, and when it is muted (amtool shows receivers only) ---------------


def matches(matcher: str, labels: dict[str, str]) -> bool:
    """One Alertmanager matcher (`a="b"`, `a!="b"`, `a=~"b|c"`, `a!~"b"`) against a label set."""
    found = re.fullmatch(r'(\w+)(=~|!~|!=|=)"(.*)"', matcher)
    assert found, matcher
    name, op, value = found.groups()
    actual = labels.get(name, "")
    if op in ("=~", "!~"):
        return bool(re.fullmatch(value, actual)) == (op == "=~")
    return (actual == value) == (op == "=")


def route_of(config: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The first child route (no `continue` is used) whose matchers all match, else the root."""
    assert not any(route.get("continue") for route in config["route"]["routes"])
    for route in config["route"]["routes"]:
        if all(matches(m, labels) for m in route.get("matchers", [])):
            return dict(route)
    return dict(config["route"])


def active(config: dict[str, Any], interval: str, moment: datetime) -> bool:
    """Whether `moment` falls in the named time interval (the weekdays and times this file uses)."""
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    (named,) = (entry for entry in config["time_intervals"] if entry["name"] == interval)
    for spec in named["time_intervals"]:
        assert set(spec) <= {"weekdays", "times", "location"}, f"{interval}: extend this check"
        local = moment.astimezone(ZoneInfo(spec.get("location", "UTC")))
        weekdays: set[str] = set()
        for span in spec.get("weekdays", ["monday:sunday"]):
            first, _, last = span.partition(":")
            weekdays.update(days[days.index(first) : days.index(last or first) + 1])
        in_time = any(
            time.fromisoformat(t["start_time"]) <= local.time() < time.fromisoformat(t["end_time"])
            for t in spec.get("times", [{"start_time": "00:00", "end_time": "23:59:59"}])
        )
        if days[local.weekday()] in weekdays and in_time:
            return True
    return False


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_each_alert_is_limited_to_the_hours_it_matters_in(alert: str, config: dict[str, Any]) -> None:
    assert alert in ROUTES, f"{alert}: say in ROUTES which receiver gets it (and when)"
    route = route_of(config, {"alertname": alert, **alert_rules()[alert]["labels"]})
    receiver, interval = ROUTES[alert]
    assert route["receiver"] == receiver
    assert route.get("active_time_intervals", [None]) == [interval]
    assert "mute_time_intervals" not in route


def test_market_hours_are_ist_on_weekdays(config: dict[str, Any]) -> None:
    tuesday = datetime(2026, 4, 7, tzinfo=IST)
    assert not active(config, "market-hours", tuesday.replace(hour=2)), "a stale feed at 02:00 is no page"
    assert not active(config, "market-hours", tuesday.replace(hour=9, minute=14))
    assert active(config, "market-hours", tuesday.replace(hour=9, minute=15))
    assert active(config, "market-hours", tuesday.replace(hour=15, minute=29))
    assert not active(config, "market-hours", tuesday.replace(hour=15, minute=31))
    assert tuesday.weekday() == 1
    assert not active(config, "market-hours", tuesday.replace(day=11, hour=11)), "Saturday"
    assert active(config, "trading-day", tuesday.replace(hour=8, minute=30)), "before the open"
    assert not active(config, "trading-day", tuesday.replace(hour=2))
    # IST, not UTC: 10:00 IST is 04:30 UTC, which a UTC interval would call closed.
    assert active(config, "market-hours", tuesday.replace(hour=10).astimezone(ZoneInfo("UTC")))


def inhibited(config: dict[str, Any], source: dict[str, str], target: dict[str, str]) -> bool:
    """Whether a firing `source` alert silences `target` under the inhibit rules."""
    return any(
        all(matches(m, source) for m in rule["source_matchers"])
        and all(matches(m, target) for m in rule["target_matchers"])
        and all(source.get(label, "") == target.get(label, "") for label in rule.get("equal", []))
        for rule in config["inhibit_rules"]
    )


def test_a_service_down_silences_what_follows_from_it_and_nothing_else(config: dict[str, Any]) -> None:
    base = {"system": "sarathi"}
    down = {**base, "alertname": "SarathiServiceDown", "service": "orders"}
    assert inhibited(config, down, {**base, "alertname": "SarathiReconciliationFailing", "service": "orders"})
    assert not inhibited(config, down, {**base, "alertname": "SarathiFeedStale", "service": "feed"})
    assert not inhibited(config, down, {**down, "service": "feed"}), "another service down still pages"
    assert not inhibited(config, down, down)
    sim_down = {**base, "alertname": "SarathiSimDown", "service": "sim"}
    orders = {**base, "service": "orders"}
    assert inhibited(config, sim_down, {**orders, "alertname": "SarathiOrderOutcomeUnknown"})
    assert not inhibited(config, sim_down, {**orders, "alertname": "SarathiShortPosition"})
    stopped = {**base, "alertname": "SarathiFeedStopped", "service": "feed", "connection": "market"}
    assert inhibited(config, stopped, {**base, "alertname": "SarathiFeedStale", "service": "feed"})
    halted = {**base, "alertname": "SarathiTradingHalted", "service": "risk"}
    assert inhibited(config, halted, {**base, "alertname": "SarathiDailyLossNearLimit", "service": "risk"})
    assert not inhibited(config, halted, {**base, "alertname": "SarathiRiskLoopStalled", "service": "risk"})


def test_secrets_are_files_never_values(config: dict[str, Any]) -> None:
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    for name in ("telegram-page", "telegram-info"):
        (telegram,) = receivers[name]["telegram_configs"]
        assert telegram["bot_token_file"] == TOKEN_FILE
        assert "bot_token" not in telegram
        assert telegram["chat_id"] == -1000000000000, "the placeholder start.sh replaces"
    assert receivers["telegram-info"]["telegram_configs"][0]["disable_notifications"] is True
    (webhook,) = receivers["webhook"]["webhook_configs"]
    assert webhook["http_config"]["authorization"]["credentials_file"].startswith(f"{SECRETS}/")
    (email,) = receivers["email"]["email_configs"]
    assert email["auth_password_file"].startswith(f"{SECRETS}/")
    assert "auth_password" not in email


# ---- start.sh: the chat id into the configuration ------------------------------------------------


def run_start(tmp_path: Path, chat_id: str | None) -> tuple[subprocess.CompletedProcess[str], Path]:
    """start.sh with a stand-in `alertmanager` that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "alertmanager"
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "started"}\n')
    fake.chmod(0o755)
    rendered = tmp_path / "rendered.yml"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "ALERTMANAGER_TEMPLATE": str(ALERTMANAGER),
        "ALERTMANAGER_CONFIG": str(rendered),
    }
    if chat_id is not None:
        env["TELEGRAM_CHAT_ID"] = chat_id
    result = subprocess.run(
        ["/bin/sh", str(START), "--storage.path=/alertmanager"],
        capture_output=True, text=True, check=False, timeout=30, env=env,
    )  # fmt: skip
    return result, rendered


@pytest.mark.parametrize("chat_id", ["123456789", "-1001234567890"])
def test_start_writes_the_chat_id_into_every_telegram_receiver(tmp_path: Path, chat_id: str) -> None:
    result, rendered = run_start(tmp_path, chat_id)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "started").read_text().split() == [
        f"--config.file={rendered}",
        "--storage.path=/alertmanager",
    ]
    document = yaml.safe_load(rendered.read_text())
    ids = [c["chat_id"] for r in document["receivers"] for c in r.get("telegram_configs", [])]
    assert ids == [int(chat_id), int(chat_id)]
    original = yaml.safe_load(ALERTMANAGER.read_text())
    for receiver in original["receivers"]:
        for telegram in receiver.get("telegram_configs", []):
            telegram["chat_id"] = int(chat_id)
    assert document == original, "only the chat ids change"


def test_start_without_a_chat_id_keeps_the_placeholder_and_says_so(tmp_path: Path) -> None:
    result, rendered = run_start(tmp_path, None)
    assert result.returncode == 0
    assert "TELEGRAM_CHAT_ID is not set" in result.stderr
    assert rendered.read_text() == ALERTMANAGER.read_text()


@pytest.mark.parametrize("chat_id", ["12;rm -rf /", "-", "1-2", "007", "-0", "abc", "1 2", "1e5"])
def test_start_refuses_a_chat_id_that_is_not_an_integer(tmp_path: Path, chat_id: str) -> None:
    result, rendered = run_start(tmp_path, chat_id)
    assert result.returncode == 2
    assert "must be a Telegram chat id" in result.stderr
    assert len(chat_id) < 3 or chat_id not in result.stderr, "the input is not echoed"
    assert not (tmp_path / "started").exists()
    assert not rendered.exists()


# ---- promtool: series in, alerts out -----------------------------------------------------------


def rule_test_cases() -> dict[str, dict[str, list[str]]]:
    """alert → {"fires": [...], "quiet": [...]}: the promtool test cases that expect it."""
    cases: dict[str, dict[str, list[str]]] = {}
    for path in RULE_TESTS:
        document = yaml.safe_load(path.read_text())
        assert document["rule_files"] == ["../alerts.yml"], path
        for test in document["tests"]:
            for check in test.get("alert_rule_test", []):
                kind = "fires" if check.get("exp_alerts") else "quiet"
                where = f"{path.name}: {test['name']} @ {check['eval_time']}"
                cases.setdefault(check["alertname"], {"fires": [], "quiet": []})[kind].append(where)
    return cases


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_each_alert_has_a_promtool_case_where_it_fires_and_one_where_it_must_not(alert: str) -> None:
    cases = rule_test_cases().get(alert, {"fires": [], "quiet": []})
    assert cases["fires"], f"{alert}: no promtool test in which it fires (deploy/prometheus/tests)"
    assert cases["quiet"], f"{alert}: no promtool test in which it must stay quiet"


def test_the_promtool_cases_name_only_alerts_that_exist() -> None:
    assert set(rule_test_cases()) <= set(ALERT_NAMES)
    names = [test["name"] for path in RULE_TESTS for test in yaml.safe_load(path.read_text())["tests"]]
    assert any("market closed" in name for name in names)
    assert any("single slow loop" in name for name in names)


def test_the_rule_unit_tests_pass_promtool() -> None:
    assert RULE_TESTS
    result = subprocess.run(
        [tool_or_skip("promtool"), "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# ---- where Alertmanager runs -------------------------------------------------------------------


def test_prometheus_sends_its_alerts_to_alertmanager(repo: Path) -> None:
    prometheus = yaml.safe_load((repo / "deploy/prometheus/prometheus.yml").read_text())
    (target,) = prometheus["alerting"]["alertmanagers"]
    assert target["static_configs"] == [{"targets": ["alertmanager:9093"]}]


def test_compose_runs_alertmanager_with_the_repositorys_configuration(compose: dict[str, Any]) -> None:
    service = compose["services"]["alertmanager"]
    assert "profiles" not in service, "every profile alerts"
    assert service["image"].startswith("prom/alertmanager:v0.")
    assert service["entrypoint"] == ["/bin/sh", "/etc/alertmanager/start.sh"]
    volumes = service["volumes"]
    assert "./deploy/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in volumes
    assert "./deploy/alertmanager/start.sh:/etc/alertmanager/start.sh:ro" in volumes
    secrets = [v for v in volumes if v.endswith(f":{SECRETS}:ro")]
    assert secrets == [f"${{ALERTMANAGER_SECRETS_DIR:-./deploy/alertmanager/secrets}}:{SECRETS}:ro"]
    assert service["environment"]["TELEGRAM_CHAT_ID"] == "${ALERTMANAGER_TELEGRAM_CHAT_ID:-}"
    assert TMP in service["tmpfs"], "start.sh writes the configuration there"
    assert "ports" not in service


def test_the_secrets_directory_is_git_ignored(repo: Path) -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/alertmanager/secrets/telegram-bot-token"],
        cwd=repo, check=False, timeout=30,
    )  # fmt: skip
    assert ignored.returncode == 0


@pytest.mark.parametrize("target", ["base", "sim", "paper", "live"])
def test_kubernetes_runs_alertmanager_from_the_same_files_and_an_optional_secret(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    docs = rendered[target]
    (deployment,) = (d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "alertmanager")
    (service,) = (d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "alertmanager")
    assert service["spec"]["ports"][0]["port"] == 9093
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    config_map_name = volumes[mounts["/etc/alertmanager/config"]]["configMap"]["name"]
    (config_map,) = (d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == config_map_name)
    assert config_map["data"]["alertmanager.yml"] == ALERTMANAGER.read_text()
    assert config_map["data"]["start.sh"] == START.read_text()
    assert container["command"] == ["/bin/sh", "/etc/alertmanager/config/start.sh"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ALERTMANAGER_TEMPLATE"]["value"] == "/etc/alertmanager/config/alertmanager.yml"
    assert env["TELEGRAM_CHAT_ID"]["valueFrom"]["secretKeyRef"] == {
        "name": "sarathi-alertmanager", "key": "telegram-chat-id", "optional": True,
    }  # fmt: skip
    secret = volumes[mounts[SECRETS]]["secret"]
    assert secret == {"secretName": "sarathi-alertmanager", "optional": True}
    assert "emptyDir" in volumes[mounts[TMP]]
    assert deployment["spec"]["replicas"] == 1, "two would send every message twice (no peering)"
    assert (K8S / "base" / "alertmanager.yaml").exists()
