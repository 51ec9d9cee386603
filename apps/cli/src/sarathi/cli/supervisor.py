"""Start Sarathi's services as separate processes, wait until each is ready, stop them all.

Each service is started exactly as any process manager would start it:
`python -m sarathi.<service>` with settings in environment variables only. `restart(name)`
starts a dead one again with the same command line, environment and port (its log is appended
to, so the death stays readable); `unit(name)` is that service as `sarathi.cli.watchdog` sees it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sarathi.common.devservers import log_tail

# Start order: the emulated broker first, then the gateway, then the rest.
SERVICES: dict[str, int] = {
    "sim": 8600,
    "orders": 8604,
    "feed": 8601,
    "signals": 8602,
    "execution": 8603,
    "risk": 8605,
}


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now (as uvicorn does, with SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def describe_checks(checks: object) -> str:
    """What a `/readyz` body's failing checks say, in words: "feed: no connection to Dhan ..."."""
    if not isinstance(checks, Mapping):
        return str(checks)[:200]
    failing = [(str(name), str(said)) for name, said in checks.items() if said != "ok"]
    return "; ".join(f"{name}: {said}" for name, said in failing) or "no failing check"


class SupervisorError(RuntimeError):
    """A service did not start or did not become ready; the message names it and its log."""


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Supervisor:
    """Owns the service processes it starts; `stop_all` leaves nothing running."""

    env: Mapping[str, str]
    log_dir: Path
    ports: Mapping[str, int] = field(default_factory=lambda: dict(SERVICES))
    processes: list[ServiceProcess] = field(default_factory=list)

    def start(self, name: str) -> ServiceProcess:
        port = self.ports[name]
        if not port_is_free(port):
            # Or a readiness check would find the other process and call this one ready.
            raise SupervisorError(
                f"port {port} for {name} is taken: is another `sarathi run` or `sarathi up` running?"
                " (`sarathi down` stops one started with `sarathi up`)"
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        env = {**os.environ, **self.env, f"SARATHI_{name.upper()}_HTTP_PORT": str(port)}
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", f"sarathi.{name}"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
            )
        started = ServiceProcess(name, port, process, log_path)
        self.processes.append(started)
        return started

    def find(self, name: str) -> ServiceProcess:
        return next(p for p in self.processes if p.name == name)

    def restart(self, name: str) -> ServiceProcess:
        """Start `name` again in its place (in start order) once it has died; reaps the old one."""
        old = self.find(name)
        if old.process.poll() is None:
            raise SupervisorError(f"{name} is still running (pid {old.process.pid})")
        index = self.processes.index(old)
        self.processes.remove(old)
        try:
            started = self.start(name)
        except BaseException:
            self.processes.insert(index, old)
            raise
        self.processes.remove(started)
        self.processes.insert(index, started)
        return started

    def unit(self, name: str) -> ServiceUnit:
        return ServiceUnit(self, name)

    def wait_ready(
        self,
        service: ServiceProcess,
        timeout_seconds: float = 30.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        # Wall-clock polling of an OS process's HTTP endpoint: not market time.
        deadline = time.monotonic() + timeout_seconds
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if service.process.poll() is not None:
                    code, log = service.process.returncode, service.log_path
                    raise SupervisorError(
                        f"{service.name} exited with code {code}; log: {log}\n{log_tail(log)}"
                    )
                try:
                    response = client.get(f"{service.base_url}/readyz")
                    if response.status_code == 200:
                        return
                    last = describe_checks(response.json().get("checks"))
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                if on_wait:
                    on_wait(f"waiting for {service.name}: {last}")
                time.sleep(0.2)
        raise SupervisorError(
            f"{service.name} not ready after {timeout_seconds:.0f}s ({last}); log: {service.log_path}\n"
            + log_tail(service.log_path)
        )

    def start_all(self, on_wait: Callable[[str], None] | None = None) -> None:
        for name in self.ports:
            self.wait_ready(self.start(name), on_wait=on_wait)

    def start_group(
        self,
        names: Sequence[str],
        on_wait: Callable[[str], None] | None = None,
        timeout_seconds: float = 60.0,
    ) -> None:
        """Start `names` at once (they start in parallel), then wait until each is ready."""
        started = [self.start(name) for name in names]
        for service in started:
            self.wait_ready(service, timeout_seconds=timeout_seconds, on_wait=on_wait)

    def stop_all(self, timeout_seconds: float = 10.0) -> None:
        """SIGTERM in reverse start order, then SIGKILL whatever is left after the timeout."""
        for service in reversed(self.processes):
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_seconds
        for service in reversed(self.processes):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                service.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait(timeout=5)
        self.processes.clear()


@dataclass
class ServiceUnit:
    """A service of a `Supervisor`, as `sarathi.cli.watchdog` restarts it."""

    supervisor: Supervisor
    name: str

    @property
    def port(self) -> int:
        return self.supervisor.ports[self.name]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data(self) -> str:
        return ""

    def pid(self) -> int | None:
        return self.supervisor.find(self.name).process.pid

    def poll(self) -> int | None:
        return self.supervisor.find(self.name).process.poll()

    def restart(self) -> None:
        self.supervisor.restart(self.name)
