"""Fixtures for the deployment tests: the repository's facts (services, ports, database users)
and the deployment files read or rendered from it, all offline (no Docker engine, no cluster).

The facts come from the code, not from a list kept here: a new service under `services/`, a
changed default port or a service that starts using the database makes these tests demand the
matching change in the Dockerfile, docker-compose.yml, Prometheus and the Kubernetes manifests.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from pydantic import AliasChoices

from sarathi.cli.day import RECORDERS
from sarathi.common.domain.holiday_file import HOLIDAYS_FILE_VARIABLE, parse_holiday_file
from sarathi.common.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
MODES = ("sim", "paper", "live")
KUBECTL = Path(sys.executable).parent / "kubectl"

Manifest = dict[str, Any]


def service_members() -> list[str]:
    """The services: the workspace members under services/ (each runs as `python -m sarathi.<name>`)."""
    return sorted(path.parent.name for path in (REPO / "services").glob("*/pyproject.toml"))


def settings_class(service: str) -> type[ServiceSettings]:
    """The service's settings class (the one ServiceSettings subclass of `sarathi.<service>.settings`)."""
    module = importlib.import_module(f"sarathi.{service}.settings")
    classes = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ServiceSettings) and cls.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"sarathi.{service}.settings should define one ServiceSettings class"
    return classes[0]


def default_port(service: str) -> int:
    """The service's default HTTP port, from its settings class."""
    port = settings_class(service).model_fields["http_port"].default
    assert isinstance(port, int)
    return port


def path_settings(service: str) -> list[str]:
    """The environment variables of the service's filesystem-path settings (where it writes files).

    A path the service only reads (an input such as a token file) says so in its field:
    `json_schema_extra={"read_only": True}`, and needs no writable volume."""
    variables = []
    for name, field in settings_class(service).model_fields.items():
        if field.annotation is not Path and Path not in typing.get_args(field.annotation):
            continue
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("read_only"):
            continue
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            variables.append(str(alias.choices[0]).upper())
        elif isinstance(alias, str):
            variables.append(alias.upper())
        else:
            variables.append(f"SARATHI_{name.upper()}")
    return variables


def uses_database(service: str) -> bool:
    """Whether the service's composition root asks for the database (`build_service_app(database=...)`)."""
    source = (REPO / "services" / service / "src" / "sarathi" / service / "app.py").read_text()
    found = set(re.findall(r"\bdatabase=(True|False)\b", source))
    assert len(found) == 1, f"cannot tell from {service}/app.py whether it uses the database: {found}"
    return found == {"True"}


# Prometheus' checkers and the Debian packages that carry them; `.ci/run` installs both.
TOOL_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


def tool_or_skip(tool: str) -> str:
    """The `promtool` or `amtool` on PATH; `.ci/run` installs them, so only a developer's machine
    skips, with the install command."""
    found = shutil.which(tool)
    if found is None:
        pytest.skip(
            f"{tool} is not installed; on Debian or Ubuntu: "
            f"sudo apt-get install -y --no-install-recommends {TOOL_PACKAGES[tool]}"
        )
    return found


def render(directory: Path) -> list[Manifest]:
    """`kubectl kustomize <directory>`: the manifests `kubectl apply -k` would send."""
    if not KUBECTL.exists():
        pytest.fail(f"kubectl not found next to the interpreter ({KUBECTL}); `uv sync` installs it")
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def services() -> list[str]:
    found = service_members()
    assert found, "no workspace members under services/"
    return found


@pytest.fixture(scope="session")
def trading_services(services: list[str]) -> list[str]:
    """Every service but the Dhan emulator."""
    return [service for service in services if service != "sim"]


@pytest.fixture(scope="session")
def ports(services: list[str]) -> dict[str, int]:
    return {service: default_port(service) for service in services}


@pytest.fixture(scope="session")
def file_settings(services: list[str]) -> dict[str, list[str]]:
    """service → the variables of its path settings (each must point at a writable volume)."""
    return {service: path_settings(service) for service in services}


@pytest.fixture(scope="session")
def database_users(services: list[str]) -> set[str]:
    return {service for service in services if uses_database(service)}


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """The base and each overlay, rendered once per session."""
    renders = {"base": render(K8S / "base")}
    renders.update({mode: render(K8S / "overlays" / mode) for mode in MODES})
    return renders


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="session")
def recorders(file_settings: dict[str, list[str]]) -> dict[str, str]:
    """service → the variable of the directory it records the day into, for `sarathi backtest
    --recording` (docs/architecture.md §11, "Recording a day"): the services `sarathi run` records."""
    found = {
        service: variable
        for service, variables in file_settings.items()
        for variable in variables
        if variable.endswith("_RECORDER_DIRECTORY")
    }
    assert sorted(found.values()) == sorted(f"SARATHI_{name}_RECORDER_DIRECTORY" for name in RECORDERS)
    return found


class Recording(NamedTuple):
    """Where a pod records the day: the directory, and the volume mounted over it."""

    directory: str | None  # the recorder variable's value; None: unset
    claim: str | None  # the PersistentVolumeClaim mounted over the directory; None: not on a claim
    read_only: bool  # that mount is read-only


def k8s_recordings(docs: list[Manifest], recorders: dict[str, str]) -> dict[str, Recording]:
    """Each recording service's Deployment (kustomize or Helm output): where its container records."""
    found = {}
    for doc in docs:
        service = doc["metadata"]["name"]
        if doc["kind"] != "Deployment" or service not in recorders:
            continue
        spec = doc["spec"]["template"]["spec"]
        (container,) = (c for c in spec["containers"] if c["name"] == service)
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        directory = env.get(recorders[service])
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in spec["volumes"]
            if "persistentVolumeClaim" in v
        }
        mounts = [
            m
            for m in container.get("volumeMounts", [])
            if directory and directory.startswith(f"{m['mountPath']}/")
        ]
        mount = max(mounts, key=lambda m: len(m["mountPath"]), default=None)  # the innermost
        claim = claims.get(mount["name"]) if mount else None
        found[service] = Recording(directory, claim, bool(mount and mount.get("readOnly")))
    return found


def recorded_on_own_claims(docs: list[Manifest], recorders: dict[str, str]) -> str:
    """Assert that every recording service records into the same directory (one file layout) on a
    writable ReadWriteOnce claim of its own; return the directory. (Such a Deployment must be
    recreated, not rolled: test_k8s_manifests.py checks it, and the chart by parity.)"""
    recordings = k8s_recordings(docs, recorders)
    assert set(recordings) == set(recorders), f"recording Deployments: {sorted(recordings)}"
    claims = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "PersistentVolumeClaim"}
    for service, recording in recordings.items():
        variable = recorders[service]
        assert recording.directory, f"{service}: {variable} is not set, so it records nothing"
        assert recording.claim, f"{service}: {recording.directory} is not on a volume claim"
        assert not recording.read_only, f"{service}: {recording.directory} is mounted read-only"
        claim = claims[recording.claim]
        assert claim["metadata"]["labels"]["app.kubernetes.io/name"] == service, f"{service}: {claim}"
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    directories = {recording.directory for recording in recordings.values()}
    assert len(directories) == 1, f"one layout, the same directory in every pod: {recordings}"
    assert len({recording.claim for recording in recordings.values()}) == len(recordings), recordings
    return str(directories.pop())


@pytest.fixture(scope="session")
def recording_directory(recorders: dict[str, str]) -> Callable[[list[Manifest]], str]:
    """`recorded_on_own_claims` for the recording services."""
    return lambda docs: recorded_on_own_claims(docs, recorders)


# The operator's holidays file (SARATHI_HOLIDAYS_FILE): where every deployment mounts it, and a
# file of the documented format to mount (Republic Day 2027 is a Tuesday).
HOLIDAYS_PATH = "/etc/sarathi/holidays/holidays.csv"
HOLIDAYS_CSV = (
    "kind,day,name,source,exchanges\n"
    "# 2027 for the test only; an operator copies the exchange circular\n"
    "holiday,2027-01-26,Republic Day,NSE/CMTR/00000 (test),NSE|BSE\n"
)
assert 2027 in parse_holiday_file(HOLIDAYS_CSV, "HOLIDAYS_CSV").covered_years


class HolidaysFile(NamedTuple):
    """What a pod's main container sees of the holidays file."""

    path: str | None  # SARATHI_HOLIDAYS_FILE; None: unset
    content: str | None  # the file at that path, from the ConfigMap mounted over it; None: none
    read_only: bool  # that mount is read-only


def k8s_holidays(docs: list[Manifest]) -> dict[str, HolidaysFile]:
    """Each Deployment's main container (kustomize or Helm output): the holidays file it is given.

    The file is followed from the variable through the mount and the volume to the ConfigMap's key,
    as the kubelet would, so a wrong name anywhere on the way leaves `content` None."""
    config_maps = {doc["metadata"]["name"]: doc.get("data", {}) for doc in docs if doc["kind"] == "ConfigMap"}
    found = {}
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        name = doc["metadata"]["name"]
        spec = doc["spec"]["template"]["spec"]
        (container,) = (c for c in spec["containers"] if c["name"] == name)
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        path = env.get(HOLIDAYS_FILE_VARIABLE)
        content, read_only = None, False
        for mount in container.get("volumeMounts", []):
            if path and path.startswith(f"{mount['mountPath']}/"):
                (volume,) = (v for v in spec["volumes"] if v["name"] == mount["name"])
                source = volume.get("configMap", {})
                relative = path.removeprefix(f"{mount['mountPath']}/")
                items = source.get("items")  # given: only these keys, at these paths
                key = {item["path"]: item["key"] for item in items}.get(relative) if items else relative
                content = config_maps.get(source.get("name", ""), {}).get(key) if key else None
                read_only = bool(mount.get("readOnly"))
        found[name] = HolidaysFile(path, content, read_only)
    return found


def holidays_overlay(directory: Path, mode: str, csv: str = HOLIDAYS_CSV) -> Path:
    """The operator's overlay of deploy/README.md ("Next year's holidays") in `directory`: the
    mode's overlay, the holidays component, and the ConfigMap generated from the file beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "holidays.csv").write_text(csv)
    overlay = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "sarathi",
        # kustomize takes relative paths only
        "resources": [os.path.relpath(K8S / "overlays" / mode, directory)],
        "components": [os.path.relpath(K8S / "components" / "holidays", directory)],
        "configMapGenerator": [{"name": "sarathi-holidays", "files": ["holidays.csv"]}],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    return directory


@pytest.fixture(scope="session")
def rendered_with_holidays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Manifest]]:
    """Each mode's overlay with the operator's holidays file, rendered once per session."""
    root = tmp_path_factory.mktemp("holidays")
    return {mode: render(holidays_overlay(root / mode, mode)) for mode in MODES}
