"""`sarathi up` as a supervisor, with real processes: what dies is reaped and restarted, data kept.

The loop under test is `_serve`'s own (`background._supervise`), run in a thread over real
servers and services on free ports; what it records is read back from the state file, as
`sarathi status` and the fault trials read it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import nats
import psycopg
import pytest
from nats.js.errors import NotFoundError

from sarathi.cli import background, health, infra, runstate
from sarathi.cli.__main__ import build_parser
from sarathi.cli.supervisor import Supervisor
from sarathi.cli.watchdog import Supervised
from sarathi.common.db import migrate

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], what: str, within: float = 60.0) -> T:
    """Poll a condition on other processes until it holds (wall clock: OS processes, not market time)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {within:.0f}s: {what}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A run directory of our own, with NATS and PostgreSQL started from the wheels (as `up` does)."""
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SARATHI_RUN_DIR", str(tmp_path / "up"))
    yield tmp_path / "up"
    infra.wipe(tmp_path / "up")  # the cluster too, wherever it lives


@contextmanager
def supervised(units: Sequence[Supervised]) -> Iterator[None]:
    state = runstate.RunState(pid=os.getpid(), mode="sim", ports={}, token="t")
    stop = threading.Event()
    loop = threading.Thread(target=background._supervise, args=(state, units, stop))
    loop.start()
    try:
        wait_until(runstate.load, "the state file")
        yield
    finally:
        stop.set()
        loop.join(timeout=30)


def restarted(name: str, times: int = 1) -> Callable[[], runstate.RunState | None]:
    def check() -> runstate.RunState | None:
        state = runstate.load()
        ok = state is not None and state.components[name].restarts >= times
        return state if ok and state.components[name].state == "running" else None

    return check


def _write_row(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table if not exists kept (note text)")
        conn.execute("insert into kept values ('written before')")


def _rows(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        try:
            return [r[0] for r in conn.execute("select note from kept").fetchall()]
        except psycopg.errors.UndefinedTable:
            return []


async def _add_stream(url: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="KEPT", subjects=["kept.>"])
    await js.publish("kept.one", b"1")
    await nc.close()


async def _stream_messages(url: str) -> int | None:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info("KEPT")
        return info.state.messages
    except NotFoundError:
        return None
    finally:
        await nc.close()


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _is_zombie_or_gone(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return "gone"
    return "zombie" if "State:\tZ" in status else "running"


@pytest.mark.timeout(180)
def test_killed_postgres_and_nats_are_reaped_and_restarted_on_their_ports_with_their_data(
    run_dir: Path,
) -> None:
    with infra.servers(run_dir, lambda _: None) as servers:
        database_url, nats_url = servers.urls["DATABASE_URL"], servers.urls["NATS_URL"]
        _write_row(database_url)
        asyncio.run(_add_stream(nats_url))
        nats_server, postgres = servers.units
        old = {"postgres": postgres.pid(), "nats": nats_server.pid()}
        ports = {"postgres": postgres.port, "nats": nats_server.port}
        with supervised(servers.units):
            for pid in old.values():
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
            state = wait_until(restarted("postgres"), "postgres restarted")
            state = wait_until(restarted("nats"), "nats restarted")
            for name in ("postgres", "nats"):
                record = state.components[name]
                assert record.last_exit_code == -signal.SIGKILL
                assert record.pid not in (None, old[name])
                assert record.port == ports[name]
                assert _is_zombie_or_gone(old[name] or 0) == "gone"  # reaped
            assert servers.urls["DATABASE_URL"] == database_url  # the URLs the services hold
            assert _rows(database_url) == ["written before"]
            assert asyncio.run(_stream_messages(nats_url)) == 1


@pytest.mark.timeout(180)
def test_a_killed_service_is_restarted_on_its_port_ready_again_and_status_counts_it(
    nats_url: str, fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SARATHI_RUN_DIR", str(tmp_path / "up"))
    migrate.upgrade(fresh_database_url)
    port = _free_port()
    supervisor = Supervisor(
        env={"NATS_URL": nats_url, "DATABASE_URL": fresh_database_url, "SARATHI_MODE": "sim"},
        log_dir=tmp_path / "logs",
        ports={"sim": _free_port(), "risk": port},  # risk in sim mode runs on the sim's clock
    )
    try:
        supervisor.start_all()
        first = supervisor.find("risk").process.pid
        with supervised([supervisor.unit("risk")]):
            os.kill(first, signal.SIGKILL)
            state = wait_until(restarted("risk"), "risk restarted")
            wait_until(lambda: _ready(port), "risk ready again on its port")
            record = state.components["risk"]
            assert (record.restarts, record.last_exit_code) == (1, -9)
            assert record.pid == supervisor.find("risk").process.pid != first
            assert _is_zombie_or_gone(first) == "gone"
            shown = health.render_components(state, health.readiness({"risk": port}))
            assert f"1 (last exit -9 at {record.last_exit_at})" in shown
    finally:
        supervisor.stop_all()


@pytest.mark.timeout(180)
def test_data_is_kept_from_one_start_to_the_next_until_wiped(run_dir: Path) -> None:
    with infra.servers(run_dir, lambda _: None) as servers:  # up
        _write_row(servers.urls["DATABASE_URL"])
        asyncio.run(_add_stream(servers.urls["NATS_URL"]))
    # down, up
    with infra.servers(run_dir, lambda _: None) as servers:
        assert _rows(servers.urls["DATABASE_URL"]) == ["written before"]
        assert asyncio.run(_stream_messages(servers.urls["NATS_URL"])) == 1
    infra.wipe(run_dir)  # what `sarathi up --fresh` does first
    with infra.servers(run_dir, lambda _: None) as servers:
        assert _rows(servers.urls["DATABASE_URL"]) == []
        assert asyncio.run(_stream_messages(servers.urls["NATS_URL"])) is None


def test_up_takes_fresh_and_says_what_it_wipes() -> None:
    parser = build_parser()
    assert parser.parse_args(["up", "--fresh"]).fresh is True
    assert parser.parse_args(["up"]).fresh is False
    assert parser.parse_args(["_serve", "--fresh"]).fresh is True
    up = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "up")[1]  # type: ignore[union-attr]
    assert "wipe the data kept" in up.format_help()
