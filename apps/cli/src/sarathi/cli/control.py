"""`sarathi status|positions|pnl|pause|resume|flatten|kill`: the operator API of the risk service.

The risk service's URL is `SARATHI_RISK_URL` (default http://127.0.0.1:8605) and the bearer token
`SARATHI_CONTROL_TOKEN`, the same variable the service reads; with neither set, those of a system
started by `sarathi up` (its state file, `sarathi.cli.runstate`). The token is sent, never printed.
Exit codes: 0 done, 1 refused or failed (the reason is printed), 2 no token configured.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sarathi.cli import runstate

if TYPE_CHECKING:  # imported where used: `sarathi --help` imports this module
    import httpx

DEFAULT_URL = "http://127.0.0.1:8605"
TIMEOUT_SECONDS = 10.0

POSITION_COLUMNS = (
    ("entry", "entry_order_id"),
    ("contract", "security_id"),
    ("und", "underlying"),
    ("status", "status"),
    ("qty", "quantity"),
    ("avg", "average_entry"),
    ("ltp", "ltp"),
    ("pnl", "pnl_gross"),
    ("net", "pnl_net"),
    ("hwm", "hwm"),
    ("trail", "trail_armed"),
    ("tick age", "last_tick_age_seconds"),
    ("exit", "exit_reason"),
)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table; numbers right-aligned, None as '-'."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "-"
    return True


class ControlClient:
    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        self._client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    def get(self, path: str) -> Any:
        return self._checked(self._client.get(path))

    def post(self, path: str, reason: str | None) -> Any:
        return self._checked(self._client.post(path, json={"reason": reason or ""}))

    @staticmethod
    def _checked(reply: httpx.Response) -> Any:
        if reply.status_code >= 400:
            try:
                detail = reply.json().get("detail", reply.text)
            except ValueError:
                detail = reply.text
            raise ControlError(f"{reply.status_code}: {detail}")
        return reply.json()


class ControlError(RuntimeError):
    """The API refused (401, 409) or failed."""


def render_status(state: dict[str, Any], pnl: dict[str, Any]) -> str:
    rows = [
        ("trading state", state["state"]),
        ("reason", state["reason"]),
        ("changed by", state["actor"]),
        ("changed at", state["updated_at"]),
        ("P&L today (gross)", pnl["gross"]),
        ("charges", pnl["charges"]),
        ("P&L today (net)", pnl["net"]),
        ("daily loss limit", pnl["daily_loss_limit"]),
        ("limit breached", pnl["daily_loss_breached"]),
        ("open / closed", f"{pnl['open_positions']} / {pnl['closed_positions']}"),
    ]
    return table(("", ""), rows)


def render_positions(positions: list[dict[str, Any]]) -> str:
    if not positions:
        return "No positions today."
    rows = [[p.get(key) for _, key in POSITION_COLUMNS] for p in positions]
    return table([title for title, _ in POSITION_COLUMNS], rows)


def render_action(reply: dict[str, Any]) -> str:
    text = f"{reply['action']}: {reply['previous_state']} → {reply['state']}"
    if reply["exits"]:
        text += f"\nexits sent for: {', '.join(reply['exits'])}"
    return text


def control_token() -> str:
    """`SARATHI_CONTROL_TOKEN`, else the token of a system started by `sarathi up`."""
    token = os.environ.get("SARATHI_CONTROL_TOKEN", "")
    if token:
        return token
    state = runstate.load()
    return state.token if state is not None and runstate.alive(state.pid) else ""


def risk_url() -> str:
    url = os.environ.get("SARATHI_RISK_URL")
    if url:
        return url
    state = runstate.load()
    return state.url("risk") if state is not None and runstate.alive(state.pid) else DEFAULT_URL


def cmd_control(args: argparse.Namespace) -> int:
    import httpx

    token = control_token()
    if not token:
        print("SARATHI_CONTROL_TOKEN is not set (and no `sarathi up` is running): the operator API needs it.")
        return 2
    client = ControlClient(risk_url(), token)
    try:
        print(run(client, args.command, getattr(args, "reason", None)))
    except ControlError as exc:
        print(f"sarathi {args.command}: refused: {exc}")
        return 1
    except httpx.HTTPError as exc:
        print(f"sarathi {args.command}: risk service unreachable: {exc}")
        return 1
    return 0


def run(client: ControlClient, command: str, reason: str | None) -> str:
    if command == "status":
        return render_status(client.get("/state"), client.get("/pnl"))
    if command == "positions":
        return render_positions(client.get("/positions"))
    return render_action(client.post(f"/{command}", reason))


def add_commands(commands: Any) -> None:
    """Register the operator commands on the `sarathi` parser's subcommands."""
    helps = {
        "status": "trading state, who changed it and why, today's P&L",
        "positions": "today's positions: P&L gross and net, high-water mark, trail, tick age",
        "pause": "no new entries; open positions stay managed",
        "resume": "allow entries again (refused after a daily loss breach)",
        "flatten": "exit every position now, stay ACTIVE",
        "kill": "HALT and exit every position",
    }
    for name, text in helps.items():
        if name == "status":
            continue  # `sarathi status` (sarathi.cli.health) shows service health, then this
        parser = commands.add_parser(name, help=text)
        if name not in ("status", "positions"):
            parser.add_argument("reason", nargs="?", default="", help="why (recorded in the audit log)")
        parser.set_defaults(handler=cmd_control)
