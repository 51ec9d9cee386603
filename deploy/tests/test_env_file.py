""".env.example documents every setting and every variable docker-compose.yml needs; `.env`
itself (with the real secrets) is never committed."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from sarathi.common.settings import SarathiSettings

# `KEY=value`, active or commented out (`# KEY=value`: documented, left to its default).
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


@pytest.fixture(scope="module")
def documented(repo: Path) -> dict[str, tuple[bool, str]]:
    """Variable → (active, value) for every variable .env.example mentions."""
    found: dict[str, tuple[bool, str]] = {}
    for line in (repo / ".env.example").read_text().splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            commented, name, value = match.groups()
            assert name not in found, f"{name} appears twice in .env.example"
            found[name] = (commented is None, value)
    return found


def test_env_example_lists_every_variable_of_the_shared_settings(
    documented: dict[str, tuple[bool, str]],
) -> None:
    expected = {f"SARATHI_{field.upper()}" for field in SarathiSettings.model_fields}
    assert "SARATHI_LIVE_TRADING" in expected
    missing = sorted(expected - set(documented))
    assert not missing, f".env.example does not document {missing}"


def test_env_example_lists_each_services_port_with_its_default(
    documented: dict[str, tuple[bool, str]], ports: dict[str, int]
) -> None:
    for service, port in ports.items():
        assert documented.get(f"SARATHI_{service.upper()}_HTTP_PORT") == (False, str(port)), service


@pytest.mark.parametrize(
    ("compose_file", "known"),
    [
        ("docker-compose.yml", {"POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}),
        ("docker-compose.holidays.yml", {"HOLIDAYS_CSV"}),
    ],
)
def test_env_example_documents_every_variable_docker_compose_interpolates(
    documented: dict[str, tuple[bool, str]], repo: Path, compose_file: str, known: set[str]
) -> None:
    interpolated = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", (repo / compose_file).read_text()))
    assert known <= interpolated
    missing = sorted(interpolated - set(documented))
    assert not missing, f"{compose_file} reads {missing}, which .env.example does not document"


def test_env_example_says_how_to_add_the_holidays_override(documented: dict[str, tuple[bool, str]]) -> None:
    assert documented["COMPOSE_FILE"] == (False, "docker-compose.yml:docker-compose.holidays.yml")


def test_env_example_carries_no_secret_and_leaves_live_unarmed(
    documented: dict[str, tuple[bool, str]],
) -> None:
    for name, (active, value) in documented.items():
        if active and re.search(r"TOKEN|PASSWORD|SECRET", name):
            assert value in ("", "change-me"), f"{name} has a value in .env.example"
    assert documented["SARATHI_LIVE_TRADING"] == (True, ""), "the example is never armed"


def test_env_is_git_ignored_and_the_example_is_not(repo: Path) -> None:
    patterns = [
        line.strip()
        for line in (repo / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:
            if fnmatch.fnmatch(path, pattern.removeprefix("!").rstrip("/")):
                verdict = not pattern.startswith("!")
        return verdict

    assert ignored(".env"), ".env holds the secrets: it must be in .gitignore"
    assert not ignored(".env.example"), ".env.example must be committed"
