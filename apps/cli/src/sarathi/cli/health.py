"""`sarathi status`: each service's health (`/readyz`), then risk's trading state and P&L.

The ports and the control token come from the state file of `sarathi up` when there is one,
else the default ports and `SARATHI_CONTROL_TOKEN`. A service that is not ready shows why, in the
words of its failing checks ("feed: no connection to Dhan (last error: ...)"). Exit code 0 when
every service is ready, 1 when some is not, 3 when nothing runs at all ("not running; start it
with `sarathi up`").
Under `sarathi up` each component (NATS and PostgreSQL too) also shows its restarts: how many,
and the last exit code and time (from the state file, `sarathi.cli.runstate`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

import httpx

from sarathi.cli import control, runstate
from sarathi.cli.supervisor import SERVICES, describe_checks


def readiness(ports: Mapping[str, int], timeout_seconds: float = 2.0) -> dict[str, tuple[bool, str]]:
    """(ready, what it says) per service."""
    out: dict[str, tuple[bool, str]] = {}
    with httpx.Client(timeout=timeout_seconds) as client:
        for name, port in ports.items():
            try:
                reply = client.get(f"http://127.0.0.1:{port}/readyz")
            except httpx.HTTPError as exc:
                out[name] = (False, f"down ({type(exc).__name__})")
                continue
            if reply.status_code == 200:
                out[name] = (True, "ready")
            else:
                try:
                    said = describe_checks(reply.json().get("checks"))
                except ValueError:
                    said = reply.text[:80]
                out[name] = (False, f"not ready: {said}")
    return out


NOT_RUNNING = "not running; start it with `sarathi up`"
EXIT_NOT_READY, EXIT_NOT_RUNNING = 1, 3


def render_health(ports: Mapping[str, int]) -> str:
    found = readiness(ports)
    rows = [(name, f"http://127.0.0.1:{ports[name]}", found[name][1]) for name in ports]
    return control.table(("service", "url", "health"), rows)


def cmd_status(args: argparse.Namespace) -> int:
    state = runstate.load()
    up = state is not None and runstate.alive(state.pid)
    ports = state.ports if state is not None and up else dict(SERVICES)
    if state is not None and up:
        print(f"Sarathi in the background: {state.mode} mode, pid {state.pid}")
    found = readiness(ports)
    if not up and all(said.startswith("down") for _, said in found.values()):
        print(NOT_RUNNING)
        return EXIT_NOT_RUNNING
    if state is not None and runstate.alive(state.pid) and state.components:
        print(render_components(state, found))
    else:
        print(
            control.table(
                ("service", "url", "health"),
                [(n, f"http://127.0.0.1:{p}", found[n][1]) for n, p in ports.items()],
            )
        )
    all_ready = all(ok for ok, _ in found.values())
    if found.get("risk", (False, ""))[0] and control.control_token():
        print()
        code = control.cmd_control(args)
        return code if all_ready else EXIT_NOT_READY
    if not os.environ.get("SARATHI_CONTROL_TOKEN") and state is None:
        print("\n(trading state needs SARATHI_CONTROL_TOKEN, or a system started with `sarathi up`)")
    return 0 if all_ready else EXIT_NOT_READY


def render_components(state: runstate.RunState, found: Mapping[str, tuple[bool, str]]) -> str:
    """Every component of `sarathi up` with its health and its restarts."""
    rows = []
    for name, component in state.components.items():
        if name in found:
            health = found[name][1]
        elif component.pid is not None and runstate.alive(component.pid):
            health = f"running (pid {component.pid})"
        else:
            health = f"down ({component.state})"
        rows.append((name, component.url, health, component.restarts_text()))
    return control.table(("component", "url", "health", "restarts"), rows)
