"""The Dockerfile: one multi-stage uv build per service, run as non-root, probed with stdlib Python.

There is no Docker engine here, so these tests read the Dockerfile; the uv commands it runs were
checked by hand against a copy of the workspace (see deploy/README.md).
"""

from __future__ import annotations

import ast
import fnmatch
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    heredoc: str = ""


def parse(text: str) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and heredoc bodies attached."""
    lines = text.splitlines()
    parsed: list[Instruction] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            index += 1
            continue
        logical = line.rstrip()
        while logical.endswith("\\"):
            index += 1
            logical = logical[:-1].rstrip() + " " + lines[index].strip()
        body = ""
        heredoc = re.search(r"<<-?[\"']?(\w+)[\"']?", logical)
        if heredoc:
            end = lines.index(heredoc.group(1), index + 1)
            body = "\n".join(lines[index + 1 : end])
            index = end
        keyword, _, arguments = logical.strip().partition(" ")
        parsed.append(Instruction(keyword.upper(), arguments.strip(), body))
        index += 1
    return parsed


@pytest.fixture(scope="module")
def instructions(repo: Path) -> list[Instruction]:
    return parse((repo / "Dockerfile").read_text())


def stages(instructions: list[Instruction]) -> dict[str, list[Instruction]]:
    """Instructions per named stage (`FROM ... AS <name>`)."""
    named: dict[str, list[Instruction]] = {}
    current: list[Instruction] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            match = re.search(r"\bAS\s+(\S+)", instruction.arguments, re.IGNORECASE)
            assert match, f"every stage is named: FROM {instruction.arguments}"
            current = named.setdefault(match.group(1), [])
        current.append(instruction)
    return named


def workspace_members(repo: Path) -> list[str]:
    root = tomllib.loads((repo / "pyproject.toml").read_text())
    members: list[str] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        members += sorted(
            path.parent.relative_to(repo).as_posix() for path in repo.glob(f"{pattern}/pyproject.toml")
        )
    return members


def test_dockerfile_builds_in_a_uv_builder_stage_and_runs_in_a_slim_python_3_11_stage(
    instructions: list[Instruction],
) -> None:
    named = stages(instructions)
    assert {"builder", "runtime"} <= set(named)
    assert list(named)[-1] == "runtime", "the runtime stage is the last, so it is what `docker build` gives"
    python_image = next(
        i.arguments for i in instructions if i.keyword == "ARG" and i.arguments.startswith("PYTHON_IMAGE=")
    )
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", python_image)
    runtime_copies = [
        i.arguments for i in named["runtime"] if i.keyword == "COPY" and "--from=" in i.arguments
    ]
    assert runtime_copies == ["--from=builder /app/.venv /app/.venv"], (
        "only the environment leaves the builder"
    )


def test_the_service_build_argument_chooses_the_member_that_uv_syncs(instructions: list[Instruction]) -> None:
    named = stages(instructions)
    assert any(i.keyword == "ARG" and i.arguments == "SERVICE" for i in named["builder"])
    assert any(i.keyword == "ARG" and i.arguments == "SERVICE" for i in named["runtime"])
    syncs = [i.arguments for i in named["builder"] if i.keyword == "RUN" and "uv sync" in i.arguments]
    assert len(syncs) == 2, "dependencies first (cached layer), then the workspace members"
    for sync in syncs:
        assert "uv sync --frozen --no-dev" in sync
        assert '--package "sarathi-${SERVICE}"' in sync
    assert "--no-install-workspace" in syncs[0]
    assert "--no-editable" in syncs[1], "installed as wheels: the runtime stage copies the venv alone"


def test_the_dependency_layer_sees_the_lock_and_every_member_pyproject_but_no_source(
    instructions: list[Instruction], repo: Path
) -> None:
    builder = stages(instructions)["builder"]
    first_sync = next(n for n, i in enumerate(builder) if i.keyword == "RUN" and "uv sync" in i.arguments)
    copies = [
        i.arguments for i in builder[:first_sync] if i.keyword == "COPY" and "--from=" not in i.arguments
    ]
    copied_before = " | ".join(copies)
    assert "pyproject.toml uv.lock ./" in copies
    members = workspace_members(repo)
    assert "libs/common" in members
    for member in members:
        assert f"{member}/pyproject.toml {member}/" in copied_before, f"{member}'s pyproject is not copied"
    sources = [copy for copy in copies if not copy.split()[0].endswith(("pyproject.toml", "uv.lock"))]
    assert not sources, f"source copied before the dependency layer: {sources}"


def test_the_image_runs_as_a_numeric_non_root_user(instructions: list[Instruction]) -> None:
    users = [i.arguments for i in stages(instructions)["runtime"] if i.keyword == "USER"]
    assert users, "the runtime stage sets a USER"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so Kubernetes can verify runAsNonRoot from the image alone.
    assert uid.isdigit()
    assert int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_the_healthcheck_probes_healthz_with_the_standard_library(instructions: list[Instruction]) -> None:
    runtime = stages(instructions)["runtime"]
    healthchecks = [i.arguments for i in runtime if i.keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert re.search(r'CMD \["sarathi-probe", "/healthz"\]', healthchecks[0])
    probe = next(i for i in runtime if i.keyword == "COPY" and "/usr/local/bin/sarathi-probe" in i.arguments)
    assert "--chmod=0755" in probe.arguments
    assert probe.heredoc.startswith("#!/usr/local/bin/python")
    assert "urllib.request" in probe.heredoc
    assert not re.search(r"\b(curl|wget|requests|httpx)\b", probe.heredoc)
    compile(probe.heredoc, "sarathi-probe", "exec")  # valid Python


def test_the_probe_knows_every_service_port_from_its_settings(
    instructions: list[Instruction], ports: dict[str, int]
) -> None:
    probe = next(i.heredoc for i in instructions if "/usr/local/bin/sarathi-probe" in i.arguments)
    table = re.search(r"^DEFAULT_PORTS = (\{.*\})$", probe, re.MULTILINE)
    assert table, "the probe has a DEFAULT_PORTS table"
    assert ast.literal_eval(table.group(1)) == ports


def test_the_container_listens_on_all_interfaces_and_exposes_the_service_ports(
    instructions: list[Instruction], ports: dict[str, int]
) -> None:
    runtime = stages(instructions)["runtime"]
    environment = " ".join(i.arguments for i in runtime if i.keyword == "ENV")
    assert "SARATHI_HTTP_HOST=0.0.0.0" in environment
    assert "SARATHI_SERVICE=${SERVICE}" in environment
    exposed: set[int] = set()
    for instruction in (i for i in runtime if i.keyword == "EXPOSE"):
        for item in instruction.arguments.split():
            low, _, high = item.partition("-")
            exposed.update(range(int(low), int(high or low) + 1))
    assert set(ports.values()) <= exposed


def test_the_command_runs_the_service_module_named_at_build_time(instructions: list[Instruction]) -> None:
    commands = [i.arguments for i in stages(instructions)["runtime"] if i.keyword == "CMD"]
    assert commands == ['["/bin/sh", "-c", "exec python -m \\"sarathi.${SARATHI_SERVICE}\\""]']


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context(repo: Path) -> None:
    patterns = [
        line.strip()
        for line in (repo / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            if fnmatch.fnmatch(path, pattern.removeprefix("!").removeprefix("**/")):
                verdict = not negated
        return verdict

    for path in (".env", ".env.live", ".git", ".venv", ".run"):
        assert ignored(path), f"{path} would be sent to the Docker daemon"
    for path in ("uv.lock", "pyproject.toml", "libs", "services", "apps"):
        assert not ignored(path), f"{path} is needed by the build"
