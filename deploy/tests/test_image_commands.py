"""Every command a container runs in a Sarathi image exists in that image.

The image `sarathi/<service>` holds the workspace member `sarathi-<service>` and what `uv sync
--frozen --package sarathi-<service>` installs with it (test_dockerfile.py checks the Dockerfile
does exactly that): the closure of its locked dependencies, read here from uv.lock. So a
container may run `python -m <module>` only for a module of a member in that closure, a console
script only of such a member, or the probe the Dockerfile adds. A CronJob calling the `sarathi`
CLI (apps/cli, a member no service depends on) in the execution image is the mistake this
catches: the job would fail with "executable file not found" every morning.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import MODES, Manifest

# Present in every image: the interpreter and shell of the python base image, and the probe.
BASE_COMMANDS = {"python", "python3", "/bin/sh", "sarathi-probe"}
SARATHI_IMAGE = "sarathi/"


@dataclass(frozen=True)
class Member:
    name: str
    directory: Path
    module: str
    scripts: frozenset[str]


@dataclass(frozen=True)
class Image:
    service: str
    members: tuple[Member, ...]

    @property
    def commands(self) -> set[str]:
        return BASE_COMMANDS | {script for member in self.members for script in member.scripts}

    def has_module(self, module: str) -> bool:
        """Whether `python -m module` would find a module (or a package's `__main__`) here."""
        for member in self.members:
            if module == member.module or module.startswith(member.module + "."):
                path = member.directory / "src" / Path(*module.split("."))
                return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()
        return False

    def problems(self, command: list[str]) -> list[str]:
        """Why `command` cannot run in this image (empty when it can)."""
        if not command:
            return []
        program = command[0]
        if program not in self.commands:
            return [f"{program!r} is not in the {self.service} image (it has {sorted(self.commands)})"]
        if program.startswith("python") and command[1:2] == ["-m"]:
            module = command[2]
            if not self.has_module(module):
                return [f"`python -m {module}`: no such module in the {self.service} image"]
        return []


def lock_packages(repo: Path) -> dict[str, dict[str, Any]]:
    lock = tomllib.loads((repo / "uv.lock").read_text())
    return {package["name"]: package for package in lock["package"]}


def member(repo: Path, package: dict[str, Any]) -> Member | None:
    """The workspace member a locked package is, if it is one (an editable source in the repo)."""
    source = package.get("source", {}).get("editable")
    if source is None:
        return None
    directory = repo / source
    project = tomllib.loads((directory / "pyproject.toml").read_text())
    module = project["tool"]["uv"]["build-backend"]["module-name"]
    scripts = frozenset(project["project"].get("scripts", {}))
    return Member(package["name"], directory, module, scripts)


def image(repo: Path, service: str) -> Image:
    """What `uv sync --frozen --no-dev --package sarathi-<service>` installs: the locked closure."""
    packages = lock_packages(repo)
    seen: set[str] = set()
    done: set[tuple[str, str]] = set()
    pending = [(f"sarathi-{service}", "")]  # (package, one of its extras or "" for its base)
    while pending:
        name, extra = pending.pop()
        if (name, extra) in done:
            continue
        done.add((name, extra))
        seen.add(name)
        package = packages[name]
        requires = (
            package.get("optional-dependencies", {}).get(extra, [])
            if extra
            else package.get("dependencies", [])
        )
        for dependency in requires:
            pending.append((dependency["name"], ""))
            pending += [(dependency["name"], wanted) for wanted in dependency.get("extra", [])]
    members = [found for name in sorted(seen) if (found := member(repo, packages[name])) is not None]
    return Image(service, tuple(members))


@pytest.fixture(scope="module")
def images(repo: Path, services: list[str]) -> dict[str, Image]:
    return {service: image(repo, service) for service in services}


def image_service(reference: str) -> str | None:
    """`sarathi/orders:latest` → `orders`; None for other images (nats, postgres)."""
    if not reference.startswith(SARATHI_IMAGE):
        return None
    return reference.removeprefix(SARATHI_IMAGE).split(":")[0]


def k8s_containers(docs: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    """(where, container) of every container and init container of every workload."""
    found = []
    for doc in docs:
        spec = doc.get("spec", {})
        if doc["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        pod = spec.get("template", {}).get("spec")
        if not pod:
            continue
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            found.append((f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}", container))
    return found


def exec_probes(container: dict[str, Any]) -> list[list[str]]:
    probes = (container.get(key, {}) for key in ("livenessProbe", "readinessProbe", "startupProbe"))
    return [probe["exec"]["command"] for probe in probes if "exec" in probe]


def test_each_image_holds_its_service_and_the_common_library(images: dict[str, Image]) -> None:
    for service, built in images.items():
        names = {found.name for found in built.members}
        assert {f"sarathi-{service}", "sarathi-common"} <= names, service
        assert "sarathi-cli" not in names, f"{service}: no service depends on the CLI"
        assert built.has_module(f"sarathi.{service}"), service  # the image's CMD


def test_the_image_check_refuses_what_an_image_does_not_carry(images: dict[str, Image]) -> None:
    execution, feed = images["execution"], images["feed"]
    assert execution.problems(["sarathi", "instruments", "sync"]), "the CLI is not in the execution image"
    assert execution.problems(["python", "-m", "sarathi.execution.no_such_module"])
    assert feed.problems(["python", "-m", "sarathi.execution.refdata", "sync"]), "execution is not in feed's"
    assert execution.problems(["python", "-m", "sarathi.execution.refdata", "sync"]) == []
    assert execution.problems(["sarathi-execution"]) == []
    assert feed.problems(["sarathi-probe", "/readyz"]) == []


@pytest.mark.parametrize("target", ["base", *MODES])
def test_every_kubernetes_container_command_exists_in_its_image(
    rendered: dict[str, list[Manifest]], images: dict[str, Image], target: str
) -> None:
    checked = 0
    for where, container in k8s_containers(rendered[target]):
        service = image_service(container["image"])
        if service is None:
            continue
        assert service in images, f"{where}: {container['image']} is not an image this repository builds"
        for command in [container.get("command", []), *exec_probes(container)]:
            assert images[service].problems(command) == [], where
            checked += bool(command)
    assert checked, "no command checked: the manifests changed shape"


def test_the_instrument_sync_job_runs_a_command_of_the_execution_image(
    rendered: dict[str, list[Manifest]], images: dict[str, Image]
) -> None:
    (cronjob,) = (doc for doc in rendered["base"] if doc["kind"] == "CronJob")
    ((_, container),) = k8s_containers([cronjob])
    assert image_service(container["image"]) == "execution"
    assert images["execution"].problems(container["command"]) == []


def test_every_compose_command_and_healthcheck_exists_in_its_image(
    compose: dict[str, Any], images: dict[str, Image]
) -> None:
    checked = 0
    for name, service in compose["services"].items():
        built = image_service(service.get("image", ""))
        if built is None:
            continue
        command = service.get("command", [])
        assert isinstance(command, list), f"{name}: use the exec form"
        healthcheck = service.get("healthcheck", {}).get("test", [])
        probe = healthcheck[1:] if healthcheck[:1] == ["CMD"] else []
        for argv in (command, probe):
            assert images[built].problems(argv) == [], name
            checked += bool(argv)
    assert checked, "no command checked: docker-compose.yml changed shape"
