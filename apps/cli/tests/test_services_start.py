"""Every service starts as `python -m sarathi.<service>`, configured only by environment variables."""

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sarathi.cli.supervisor import SERVICES, Supervisor, SupervisorError, port_is_free
from sarathi.common.db import migrate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def running_system(nats_url: str, fresh_database_url: str, tmp_path: Path) -> Iterator[Supervisor]:
    migrate.upgrade(fresh_database_url)
    ports = {name: _free_port() for name in SERVICES}
    sim = f"127.0.0.1:{ports['sim']}"  # the feed is ready only once its socket to "Dhan" is up
    dhan = {
        "SARATHI_DHAN_REST_URL": f"http://{sim}/v2",
        "SARATHI_DHAN_FEED_URL": f"ws://{sim}/feed",
        "SARATHI_DHAN_ORDER_UPDATE_URL": f"ws://{sim}/order-update",
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
        env={"NATS_URL": nats_url, "SARATHI_MODE": "sim"}, log_dir=tmp_path, ports={"sim": _free_port()}
    )
    service = supervisor.start("sim")
    supervisor.wait_ready(service)
    supervisor.stop_all()
    assert service.process.poll() is not None
    assert supervisor.processes == []


def test_a_service_with_invalid_settings_exits_with_a_clear_message(tmp_path: Path) -> None:
    supervisor = Supervisor(env={"SARATHI_MODE": "live"}, log_dir=tmp_path, ports={"orders": _free_port()})
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
