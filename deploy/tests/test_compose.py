"""docker-compose.yml: infrastructure, one definition of each Sarathi service per profile (mode),
healthchecks, start order, and nothing published but risk's control API on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import HOLIDAYS_PATH

PROFILES = ("sim", "paper", "live")
INFRASTRUCTURE = ("nats", "postgres", "migrate", "prometheus", "grafana")

# Service keys of the Compose Specification. Compose refuses a misspelt key (`depends-on`), but
# only where Docker runs; here this list catches it.
COMPOSE_SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "depends_on", "healthcheck",
    "profiles", "ports", "expose", "volumes", "networks", "restart", "read_only", "tmpfs", "cap_drop",
    "cap_add", "security_opt", "user", "working_dir", "labels", "logging", "deploy", "init",
    "stop_grace_period", "container_name", "hostname", "ulimits", "shm_size", "pull_policy", "secrets",
    "configs",
}  # fmt: skip

Service = dict[str, Any]


def sarathi_services(compose: dict[str, Any]) -> dict[str, Service]:
    """The services built from the Dockerfile that run a Sarathi service (not the migration)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service and name != "migrate"
    }


def member(service: Service) -> str:
    return str(service["build"]["args"]["SERVICE"])


def profile(service: Service) -> str:
    profiles = service.get("profiles", [])
    assert len(profiles) == 1, f"a Sarathi service belongs to exactly one profile (mode): {profiles}"
    return str(profiles[0])


def variant(compose: dict[str, Any], service_name: str, mode: str) -> str:
    """The compose service that runs `service_name` in profile `mode`."""
    matches = [
        name
        for name, service in sarathi_services(compose).items()
        if member(service) == service_name and profile(service) == mode
    ]
    assert len(matches) == 1, f"{service_name} in profile {mode}: {matches}"
    return matches[0]


def environment(service: Service) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment is written as a mapping"
    return {key: str(value) for key, value in env.items()}


def test_compose_defines_the_infrastructure_and_its_named_volumes(compose: dict[str, Any]) -> None:
    assert set(INFRASTRUCTURE) <= set(compose["services"])
    assert {"nats-data", "postgres-data", "prometheus-data", "grafana-data"} <= set(compose["volumes"])
    for name in INFRASTRUCTURE:
        assert "profiles" not in compose["services"][name], f"{name} runs in every profile"


def test_compose_uses_only_known_service_keys(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        unknown = set(service) - COMPOSE_SERVICE_KEYS
        assert not unknown, f"{name}: unknown keys {unknown}"


def test_nats_runs_jetstream_on_a_named_volume_with_its_monitoring_port(compose: dict[str, Any]) -> None:
    nats = compose["services"]["nats"]
    assert nats["image"].startswith("nats:")
    assert "--jetstream" in nats["command"]
    assert "--store_dir=/data" in nats["command"]
    assert "--http_port=8222" in nats["command"]
    assert "nats-data:/data" in nats["volumes"]
    assert "http://127.0.0.1:8222/healthz?js-enabled-only=true" in nats["healthcheck"]["test"]


def test_postgres_keeps_its_data_on_a_named_volume_and_is_checked_with_pg_isready(
    compose: dict[str, Any],
) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "postgres-data:/var/lib/postgresql" in postgres["volumes"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "${POSTGRES_PASSWORD:?" in postgres["environment"]["POSTGRES_PASSWORD"], "no default password"


def test_every_service_but_the_one_shot_migration_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "migrate":
            assert service["restart"] == "no", "the migration runs once"
            continue
        healthcheck = service.get("healthcheck", {})
        assert healthcheck.get("test"), f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name}'s healthcheck is disabled"


def test_sarathi_services_probe_readiness_so_start_order_means_connected(compose: dict[str, Any]) -> None:
    for name, service in sarathi_services(compose).items():
        assert service["healthcheck"]["test"] == ["CMD", "sarathi-probe", "/readyz"], name


def test_every_sarathi_service_is_built_from_the_dockerfile_for_a_member_under_services(
    compose: dict[str, Any], services: list[str]
) -> None:
    built = sarathi_services(compose)
    assert built
    for name, service in built.items():
        assert service["build"]["context"] == "."
        assert "dockerfile" not in service["build"], "the repository's Dockerfile"
        assert member(service) in services, f"{name} builds {member(service)}, not a member under services/"
        assert service["image"] == f"sarathi/{member(service)}:latest"
        assert name in (member(service), f"{member(service)}-{profile(service)}"), name


def test_the_profiles_are_the_modes_and_each_runs_the_services_of_its_mode(
    compose: dict[str, Any], services: list[str], trading_services: list[str]
) -> None:
    declared = {p for service in compose["services"].values() for p in service.get("profiles", [])}
    assert declared == set(PROFILES)
    running = {
        mode: sorted(member(s) for s in sarathi_services(compose).values() if profile(s) == mode)
        for mode in PROFILES
    }
    assert running["sim"] == services, "sim: the emulator and the five services"
    assert running["paper"] == services, "paper: the emulator is still the broker"
    assert running["live"] == trading_services, "live: no emulator"


def test_variants_answer_under_the_plain_service_name(compose: dict[str, Any]) -> None:
    for name, service in sarathi_services(compose).items():
        if name != member(service):
            aliases = service["networks"]["default"]["aliases"]
            assert aliases == [member(service)], f"{name} must be reachable as {member(service)}"


def test_each_profile_sets_its_mode_endpoints_and_infrastructure(compose: dict[str, Any]) -> None:
    for name, service in sarathi_services(compose).items():
        env, mode = environment(service), profile(service)
        assert env["SARATHI_MODE"] == mode, name
        assert env["SARATHI_HTTP_HOST"] == "0.0.0.0", name
        assert env["SARATHI_NATS_URL"] == "nats://nats:4222", name
        assert "@postgres:5432/sarathi" in env["SARATHI_DATABASE_URL"], name
        rest, feed = env["SARATHI_DHAN_REST_URL"], env["SARATHI_DHAN_FEED_URL"]
        order_update = env["SARATHI_DHAN_ORDER_UPDATE_URL"]
        if mode == "sim":
            assert (rest, feed, order_update) == (
                "http://sim:8600/v2",
                "ws://sim:8600/feed",
                "ws://sim:8600/order-update",
            ), name
        elif mode == "paper":
            assert feed == "wss://api-feed.dhan.co", f"{name}: paper trades on the real feed"
            assert (rest, order_update) == ("http://sim:8600/v2", "ws://sim:8600/order-update"), name
        else:
            assert (rest, feed, order_update) == (
                "https://api.dhan.co/v2",
                "wss://api-feed.dhan.co",
                "wss://api-order-update.dhan.co",
            ), name


def test_execution_syncs_the_instrument_master_of_its_profile(compose: dict[str, Any]) -> None:
    dhan = "https://images.dhan.co/api-data/api-scrip-master-detailed.csv"
    expected = {"sim": "http://sim:8600/api-data/api-scrip-master-detailed.csv", "paper": dhan, "live": dhan}
    for mode in ("sim", "paper", "live"):
        name = variant(compose, "execution", mode)
        env = environment(compose["services"][name])
        assert env["SARATHI_EXECUTION_INSTRUMENT_MASTER_URL"] == expected[mode], name


def test_only_live_can_be_armed_and_only_from_the_env_file(compose: dict[str, Any]) -> None:
    for name, service in sarathi_services(compose).items():
        env = environment(service)
        assert service["env_file"] == [{"path": ".env", "required": True}], name
        if profile(service) == "live":
            for key in ("SARATHI_LIVE_TRADING", "SARATHI_DHAN_CLIENT_ID", "SARATHI_DHAN_ACCESS_TOKEN"):
                assert key not in env, f"{name}: {key} belongs in .env, not in docker-compose.yml"
        else:
            assert env["SARATHI_LIVE_TRADING"] == "", f"{name} is never armed"


def test_services_start_after_their_infrastructure_sim_and_orders(
    compose: dict[str, Any], database_users: set[str]
) -> None:
    defined = compose["services"]
    for name, service in sarathi_services(compose).items():
        service_name, mode = member(service), profile(service)
        depends = {target: spec["condition"] for target, spec in service["depends_on"].items()}
        for target in depends:
            assert target in defined, f"{name} depends on undefined {target}"
            assert defined[target].get("profiles", [mode]) == [mode], f"{name} → {target}: not in {mode}"
        assert depends["nats"] == "service_healthy", name
        if service_name in database_users:
            assert depends["postgres"] == "service_healthy", name
            assert depends["migrate"] == "service_completed_successfully", name
        if service_name == "orders" and mode != "live":
            assert depends[variant(compose, "sim", mode)] == "service_healthy", name
        if service_name not in ("sim", "orders"):
            assert depends[variant(compose, "orders", mode)] == "service_healthy", f"{name} waits for orders"


def test_the_migration_runs_once_against_postgres_before_the_database_users(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["python", "-m", "sarathi.common.db.migrate", "upgrade"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "env_file" not in migrate, "the migration needs the database URL only, in any mode"
    assert "@postgres:5432/sarathi" in migrate["environment"]["SARATHI_DATABASE_URL"]


def test_only_risks_control_api_is_published_and_only_on_loopback(
    compose: dict[str, Any], ports: dict[str, int]
) -> None:
    risk_port = ports["risk"]
    for name, service in compose["services"].items():
        published = service.get("ports", [])
        if name in sarathi_services(compose) and member(service) == "risk":
            assert published == [f"127.0.0.1:{risk_port}:{risk_port}"], name
        else:
            assert not published, f"{name} publishes {published}"


def test_prometheus_and_grafana_load_their_configuration_from_the_repository(
    compose: dict[str, Any], repo: Path
) -> None:
    prometheus = compose["services"]["prometheus"]
    for mount in (
        "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
        "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro",
    ):
        assert mount in prometheus["volumes"]
        assert (repo / mount.split(":")[0]).is_file()
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]

    grafana = compose["services"]["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    provider = yaml.safe_load((repo / "deploy/grafana/provisioning/dashboards/sarathi.yml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{dashboards_path}:ro" in grafana["volumes"]
    assert "${GRAFANA_ADMIN_PASSWORD:?" in grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]


@pytest.mark.parametrize("mode", PROFILES)
def test_every_profile_starts_only_services_whose_dependencies_it_starts(
    compose: dict[str, Any], mode: str
) -> None:
    active = {
        name for name, service in compose["services"].items() if service.get("profiles", [mode]) == [mode]
    }
    for name in active:
        for target in compose["services"][name].get("depends_on", {}):
            assert target in active, f"profile {mode}: {name} depends on {target}, which does not run"


def test_every_path_a_service_writes_to_is_on_a_named_volume(
    compose: dict[str, Any], file_settings: dict[str, list[str]]
) -> None:
    assert any(file_settings.values()), "the feed records ticks to a directory"
    for name, service in sarathi_services(compose).items():
        assert service["read_only"] is True, f"{name}: the root filesystem is read-only"
        mounts = [volume.split(":")[1] for volume in service.get("volumes", [])]
        for variable in file_settings[member(service)]:
            path = environment(service).get(variable)
            assert path, f"{name}: {variable} is not set, so it points into the read-only image"
            assert any(path.startswith(f"{mount}/") for mount in mounts), f"{name}: {path} is not on a volume"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose["volumes"], f"{name}: {volume} is not a named volume"


@pytest.mark.parametrize("mode", PROFILES)
def test_feed_signals_and_execution_record_the_day_into_one_directory_on_one_volume(
    compose: dict[str, Any], mode: str, recorders: dict[str, str], repo: Path
) -> None:
    """`sarathi backtest --recording DIR` replays a day from the three services' files in ONE
    directory: each sets its variable to the same path, on the same named volume, writable."""
    found = {}
    for service, variable in recorders.items():
        name = variant(compose, service, mode)
        path = environment(compose["services"][name]).get(variable)
        assert path, f"{name}: {variable} is not set, so it records nothing"
        volumes = [v.split(":") for v in compose["services"][name].get("volumes", [])]
        (mount,) = (v for v in volumes if path.startswith(f"{v[1]}/"))
        assert mount[2:] in ([], ["rw"]), f"{name}: {path} is on a read-only mount {mount}"
        found[name] = (path, mount[0], mount[1])
    assert len(set(found.values())) == 1, f"one directory on one volume at one path: {found}"
    path = next(iter(found.values()))[0]
    readme = (repo / "deploy" / "README.md").read_text()
    assert path in readme, f"deploy/README.md does not say where the services record ({path})"


# --- the operator's holidays file (docker-compose.holidays.yml) ------------------------------------

HOLIDAYS_OVERRIDE = "docker-compose.holidays.yml"


@pytest.fixture(scope="module")
def holidays_override(repo: Path) -> dict[str, Any]:
    document = yaml.safe_load((repo / HOLIDAYS_OVERRIDE).read_text())
    assert isinstance(document, dict)
    return document


def mounts(service: Service) -> dict[str, dict[str, Any]]:
    """Mount target → the mount in the long syntax (the short `source:target[:mode]` converted)."""
    found = {}
    for entry in service.get("volumes", []):
        volume = entry
        if isinstance(entry, str):
            source, target, *mode = entry.split(":")
            volume = {"source": source, "target": target, "read_only": mode == ["ro"]}
        found[volume["target"]] = volume
    return found


def overridden(service: Service, override: Service) -> Service:
    """`service` with `override` laid over it as Compose merges a second file: `environment` by
    variable, `volumes` by mount target, any other key replaced."""
    merged = {**service, **override}
    merged["environment"] = {**environment(service), **environment(override)}
    merged["volumes"] = list({**mounts(service), **mounts(override)}.values())
    return merged


def test_the_holidays_override_gives_every_sarathi_service_and_the_sim_the_operators_file_read_only(
    compose: dict[str, Any], holidays_override: dict[str, Any]
) -> None:
    """`docker compose -f docker-compose.yml -f docker-compose.holidays.yml`: each service of each
    profile gets SARATHI_HOLIDAYS_FILE naming the operator's file itself, bound read-only (so its
    content is the file's), and keeps everything else it had."""
    services = sarathi_services(compose)
    assert set(holidays_override["services"]) == set(services), "every Sarathi service of every profile"
    for name, override in holidays_override["services"].items():
        assert set(override) == {"volumes", "environment"}, f"{name}: the rest comes from docker-compose.yml"
        merged = overridden(services[name], override)
        path = environment(merged)["SARATHI_HOLIDAYS_FILE"]
        assert path == HOLIDAYS_PATH, name
        assert mounts(merged)[path] == {
            "type": "bind",
            "source": "${HOLIDAYS_CSV:-./holidays.csv}",
            "target": path,
            "read_only": True,
            "bind": {"create_host_path": False},  # a missing file stops `up`; no empty directory
        }, name
        assert mounts(services[name]).items() <= mounts(merged).items(), f"{name} keeps its volumes"
        kept = environment(services[name]).items() <= environment(merged).items()
        assert kept, f"{name} keeps its settings"


def test_without_the_holidays_override_no_service_is_given_a_holidays_file(compose: dict[str, Any]) -> None:
    """docker-compose.yml alone neither mounts nor names one, so `up` works without the file."""
    for name, service in compose["services"].items():
        assert "SARATHI_HOLIDAYS_FILE" not in environment(service), name
        assert not [target for target in mounts(service) if target.startswith("/etc/sarathi")], name


def test_the_readme_says_how_to_lay_the_holidays_override_over_the_compose_file(repo: Path) -> None:
    readme = (repo / "deploy" / "README.md").read_text()
    assert f"-f docker-compose.yml -f {HOLIDAYS_OVERRIDE}" in readme
    assert f"COMPOSE_FILE=docker-compose.yml:{HOLIDAYS_OVERRIDE}" in readme
