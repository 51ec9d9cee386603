"""The state file of a system started in the background by `sarathi up` (`.run/up/state.json`).

It names the supervising process, the mode, each service's port and the control token of the
run, so `sarathi status`, the operator commands and `sarathi down` find the system. The file is
readable by its owner only (it holds the token). `SARATHI_RUN_DIR` moves it (default `.run/up`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def run_dir() -> Path:
    return Path(os.environ.get("SARATHI_RUN_DIR", ".run/up"))


def state_path() -> Path:
    return run_dir() / "state.json"


@dataclass
class RunState:
    pid: int  # the `sarathi _serve` process that owns everything else
    mode: str
    ports: dict[str, int]
    token: str
    ready: bool = False
    service_pids: list[int] = field(default_factory=list)
    detail: str = ""

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"


def save(state: RunState, path: Path | None = None) -> None:
    path = path or state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1))
    tmp.chmod(0o600)
    tmp.replace(path)


def load(path: Path | None = None) -> RunState | None:
    path = path or state_path()
    try:
        raw: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return RunState(**raw)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
