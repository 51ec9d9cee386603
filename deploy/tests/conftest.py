"""Fixtures for the deployment tests: the repository's facts (services, ports, database users)
and the deployment files read or rendered from it, all offline (no Docker engine, no cluster).

The facts come from the code, not from a list kept here: a new service under `services/`, a
changed default port or a service that starts using the database makes these tests demand the
matching change in the Dockerfile, docker-compose.yml, Prometheus and the Kubernetes manifests.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

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
