"""The state file of a system started in the background by `sarathi up` (`.run/up/state.json`).

It names the supervising process, the mode, each service's port, the control token of the run
and, per component, its pid and restarts, so `sarathi status`, the operator commands,
`sarathi down` and the fault trials (`make chaos`) find the system. The file is readable by its
owner only (it holds the token) and replaced atomically on every change (a reader never sees half
a file). `SARATHI_RUN_DIR` moves it (default `.run/up`).

JSON fields (schema_version 2):

- `schema_version`: 2.
- `pid`: the `sarathi _serve` process that owns (and restarts) everything else.
- `mode`: "sim" or "paper".
- `ports`: {service: HTTP port} for sim, orders, feed, signals, execution, risk.
- `token`: the control token of the run (bearer token of risk's and orders' control APIs).
- `ready`: true once every component has started and answered ready once.
- `service_pids`: the pids of every component now running (services, NATS, PostgreSQL); what
  `sarathi down` kills if the `_serve` process itself is gone.
- `detail`: why `_serve` failed, when it did ("" otherwise).
- `run_dir`: the run directory (logs, NATS's store, the sim's state).
- `components`: {name: component} for "nats" and "postgres" (when this run started them, not
  given by `NATS_URL` / `DATABASE_URL`) and each service, in start order. A component:
  - `pid`: its process now (null while it is down and waiting to be restarted);
  - `port`: where it listens (kept across restarts: the URLs other components hold stay valid);
  - `url`: its URL ("nats://…", "postgresql://…", "http://…");
  - `data`: where its data lives ("" for services);
  - `state`: "running", "restarting" (dead, restart due after a backoff) or "failing" (died
    `FAILING_AFTER` times in a row without staying up: still restarted, every `cap` seconds);
  - `restarts`: how many times it was restarted by `_serve` (a fresh `up` starts at 0);
  - `failures`: exits in a row without staying up a minute (the backoff's exponent);
  - `last_exit_code`: the exit code of its last death (negative: killed by that signal, -9 =
    SIGKILL), null if it never died;
  - `last_exit_at`: when it died last, ISO 8601 UTC, or null;
  - `next_restart_at`: when the next restart is due, ISO 8601 UTC, or null while running.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2


def run_dir() -> Path:
    return Path(os.environ.get("SARATHI_RUN_DIR", ".run/up"))


def state_path() -> Path:
    return run_dir() / "state.json"


@dataclass
class Component:
    """One supervised process as the state file shows it (fields documented above)."""

    pid: int | None
    port: int
    url: str
    data: str = ""
    state: str = "running"
    restarts: int = 0
    failures: int = 0
    last_exit_code: int | None = None
    last_exit_at: str | None = None
    next_restart_at: str | None = None

    def restarts_text(self) -> str:
        """`0`, or e.g. `2 (last exit -9 at 2026-09-16T04:01:02Z)`; `failing` when it keeps dying."""
        if self.last_exit_code is None:
            return str(self.restarts)
        text = f"{self.restarts} (last exit {self.last_exit_code} at {self.last_exit_at})"
        return f"{text}, {self.state}" if self.state != "running" else text


@dataclass
class RunState:
    pid: int  # the `sarathi _serve` process that owns everything else
    mode: str
    ports: dict[str, int]
    token: str
    ready: bool = False
    service_pids: list[int] = field(default_factory=list)
    detail: str = ""
    run_dir: str = ""
    components: dict[str, Component] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"


def save(state: RunState, path: Path | None = None) -> None:
    path = path or state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1))
    tmp.chmod(0o600)
    tmp.replace(path)


def load(path: Path | None = None) -> RunState | None:
    path = path or state_path()
    try:
        raw: dict[str, Any] = json.loads(path.read_text())
        known = {f.name for f in fields(RunState)}
        raw = {k: v for k, v in raw.items() if k in known}
        raw["components"] = {n: Component(**c) for n, c in raw.get("components", {}).items()}
        return RunState(**raw)
    except (OSError, ValueError, TypeError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
