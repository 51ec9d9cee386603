"""Every service starts as `python -m sarathi.<service>`, configured only by environment variables."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sarathi.cli import day as days
from sarathi.cli.supervisor import SERVICES, Supervisor, SupervisorError, port_is_free
from sarathi.common.db import migrate
from sarathi.common.devservers import free_port
from sarathi.orders.settings import OrdersSettings

DEFAULT_PORTS = {*SERVICES.values(), 4222, 5432}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on for the test (bound, never listening: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _until(predicate: object, what: str, timeout_seconds: float = 60.0) -> None:
    """Wall-clock wait on another OS process (its log), polled."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout_seconds
    while not predicate():
        assert time.monotonic() < deadline, f"not within {timeout_seconds:.0f}s: {what}"
        time.sleep(0.1)


@pytest.fixture
def running_system(nats_url: str, fresh_database_url: str, tmp_path: Path) -> Iterator[Supervisor]:
    migrate.upgrade(fresh_database_url)
    ports = days.service_ports()
    sim = f"127.0.0.1:{ports['sim']}"  # the feed is ready only once its socket to "Dhan" is up
    dhan = {
        "SARATHI_DHAN_REST_URL": f"http://{sim}/v2",
        "SARATHI_DHAN_FEED_URL": f"ws://{sim}/feed",
        "SARATHI_DHAN_ORDER_UPDATE_URL": f"ws://{sim}/order-update",
        # execution is ready only with today's expiries listed: its sync at start reads the sim's master
        "SARATHI_EXECUTION_INSTRUMENT_MASTER_URL": f"http://{sim}/api-data/api-scrip-master-detailed.csv",
    }
    supervisor = Supervisor(
        env={"NATS_URL": nats_url, "DATABASE_URL": fresh_database_url, "SARATHI_MODE": "sim", **dhan},
        log_dir=tmp_path,
        ports=ports,
    )
    try:
        supervisor.start_all()
        yield supervisor
    finally:
        supervisor.stop_all()


def test_every_service_is_ready_and_exports_its_metrics(running_system: Supervisor) -> None:
    assert [p.name for p in running_system.processes] == list(SERVICES)
    with httpx.Client(timeout=5) as client:
        for service in running_system.processes:
            assert client.get(f"{service.base_url}/healthz").json() == {
                "status": "ok",
                "service": service.name,
            }
            ready = client.get(f"{service.base_url}/readyz").json()
            assert ready["status"] == "ready", ready
            metrics = client.get(f"{service.base_url}/metrics").text
            assert f"sarathi_{service.name}_up_state 1.0" in metrics


def test_stopping_the_system_leaves_no_process_running(nats_url: str, tmp_path: Path) -> None:
    supervisor = Supervisor(
        env={"NATS_URL": nats_url, "SARATHI_MODE": "sim"}, log_dir=tmp_path, ports={"sim": free_port()}
    )
    service = supervisor.start("sim")
    supervisor.wait_ready(service)
    supervisor.stop_all()
    assert service.process.poll() is not None
    assert supervisor.processes == []


def test_a_service_with_invalid_settings_exits_with_a_clear_message(tmp_path: Path) -> None:
    supervisor = Supervisor(env={"SARATHI_MODE": "live"}, log_dir=tmp_path, ports={"orders": free_port()})
    service = supervisor.start("orders")
    assert service.process.wait(timeout=30) == 2
    log = service.log_path.read_text()
    assert "invalid settings" in log
    assert "live mode needs SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN" in log


def test_a_port_another_process_listens_on_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        supervisor = Supervisor(env={}, log_dir=tmp_path, ports={"sim": port})
        with pytest.raises(SupervisorError, match=f"port {port} for sim is taken"):
            supervisor.start("sim")
        assert supervisor.processes == []
    assert port_is_free(port)


def test_a_service_waiting_for_an_unreachable_nats_stops_on_sigterm_or_sigint(
    closed_port: int, tmp_path: Path
) -> None:
    """Each service (all connect NATS at start-up), started with NATS unreachable, still stops on
    a signal (before: uvicorn noted the signal and waited for a start-up that never ended)."""
    stops = {"sim": signal.SIGINT, "feed": signal.SIGTERM, "signals": signal.SIGINT,
             "execution": signal.SIGTERM, "orders": signal.SIGINT, "risk": signal.SIGTERM}  # fmt: skip
    unreachable = f"127.0.0.1:{closed_port}"
    supervisor = Supervisor(
        env={"NATS_URL": f"nats://{unreachable}", "DATABASE_URL": f"postgresql://x@{unreachable}/x"},
        log_dir=tmp_path,
        ports=days.service_ports(),
    )
    try:
        started = [supervisor.start(name) for name in stops]
        for service in started:
            _until(lambda s=service: b'"connecting"' in s.log_path.read_bytes(), f"{service.name} connecting")
        for service in started:
            service.process.send_signal(stops[service.name])
        for service in started:
            try:
                code = service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{service.name} ignored {stops[service.name].name} while NATS was unreachable")
            assert code in (0, -stops[service.name]), (service.name, code)
            assert b"stopped before start-up was over" in service.log_path.read_bytes(), service.name
    finally:
        supervisor.stop_all()


def test_instruments_sync_with_nothing_running_gives_up_with_a_clear_error(closed_port: int) -> None:
    unreachable = f"127.0.0.1:{closed_port}"
    env = {
        **os.environ,
        "NATS_URL": f"nats://{unreachable}",
        "DATABASE_URL": f"postgresql://x@{unreachable}/x",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sarathi.cli", "instruments", "sync"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("`sarathi instruments sync` kept trying to reach NATS")
    assert done.returncode == 2
    said = "cannot tell today's date in sim mode (NATS does not answer (3 attempts)); pass --today"
    assert said in done.stderr
    assert "Traceback" not in done.stderr


def test_service_ports_are_free_ports_unless_fixed() -> None:
    free = days.service_ports(environ={})
    assert list(free) == list(SERVICES)
    assert len(set(free.values())) == len(SERVICES)
    assert not set(free.values()) & DEFAULT_PORTS
    assert all(port_is_free(port) for port in free.values())

    assert days.service_ports(9100, environ={}) == {
        "sim": 9100, "orders": 9104, "feed": 9101, "signals": 9102, "execution": 9103, "risk": 9105,
    }  # fmt: skip
    fixed = days.service_ports(environ={"SARATHI_RISK_HTTP_PORT": "9999"})
    assert fixed["risk"] == 9999
    assert not {p for n, p in fixed.items() if n != "risk"} & DEFAULT_PORTS
    with pytest.raises(ValueError, match="SARATHI_SIM_HTTP_PORT='x' is not a port number"):
        days.service_ports(environ={"SARATHI_SIM_HTTP_PORT": "x"})


def test_a_day_starts_beside_a_system_on_the_default_ports() -> None:
    """`sarathi run` chooses its ports (`service_ports()`): whatever listens on the default ports
    (a `sarathi up`) is neither met nor in the way. The suite itself stays off them too."""
    ports = days.service_ports()
    assert not set(ports.values()) & DEFAULT_PORTS
    env = days.service_env(days.DayPlan(), {}, ports["sim"], "t", Path("."))
    dhan = [value for key, value in env.items() if key.startswith("SARATHI_DHAN_") and key.endswith("_URL")]
    assert len(dhan) == 3
    assert all(f":{ports['sim']}/" in url for url in dhan)

    defaults = OrdersSettings()  # what a test gets when it forgets to say where its sim is
    for url in (defaults.dhan_rest_url, defaults.dhan_feed_url, defaults.dhan_order_update_url):
        port = int(url.split("//")[1].split("/")[0].rsplit(":", 1)[1])
        assert port not in DEFAULT_PORTS
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
