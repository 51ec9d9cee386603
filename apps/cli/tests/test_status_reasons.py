"""`sarathi status` says why a service is not ready, in words, and says so when nothing runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from sarathi.cli import health
from sarathi.cli.__main__ import main
from sarathi.common.devservers import free_ports
from sarathi.common.metrics import ServiceMetrics
from sarathi.common.web import NotReadyError, create_app


async def _ok() -> None:
    return


async def _no_dhan() -> None:
    raise NotReadyError("no connection to Dhan (last error: access token expired, 807)")


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    """No `sarathi up` state, no control token, and every service on a free port of its own."""
    monkeypatch.setenv("SARATHI_RUN_DIR", str(tmp_path))
    monkeypatch.delenv("SARATHI_CONTROL_TOKEN", raising=False)
    ports = dict(zip(health.SERVICES, free_ports(len(health.SERVICES)), strict=True))
    monkeypatch.setattr(health, "SERVICES", ports)
    return ports


@pytest.fixture
def feed_without_dhan(isolated: dict[str, int]) -> Iterator[None]:
    """A feed whose `/readyz` fails its own check (the common app factory, served for real)."""
    app = create_app(service="feed", metrics=ServiceMetrics("feed"), checks={"nats": _ok, "feed": _no_dhan})
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=isolated["feed"], log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # a thread's server: no event to await
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    yield
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.usefixtures("isolated")
def test_status_with_nothing_running_says_how_to_start_it_and_exits_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["status"])

    assert code == 3
    assert capsys.readouterr().out.strip() == "not running; start it with `sarathi up`"


@pytest.mark.usefixtures("feed_without_dhan")
def test_status_shows_a_not_ready_services_reason_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status"])

    out = capsys.readouterr().out
    assert code == 1
    feed_row = next(line for line in out.splitlines() if line.startswith("feed"))
    assert feed_row.endswith("not ready: feed: no connection to Dhan (last error: access token expired, 807)")
    assert "{" not in out  # no raw check dictionary
