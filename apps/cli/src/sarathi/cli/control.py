"""`sarathi status|positions|pause|resume|flatten|kill|clear-kill`: the operator API of the risk service.

The risk service's URL is `SARATHI_RISK_URL` (default http://127.0.0.1:8605) and the bearer token
`SARATHI_CONTROL_TOKEN`, the same variable the service reads; with neither set, those of a system
started by `sarathi up` (its state file, `sarathi.cli.runstate`). The token is sent, never printed.
Exit codes: 0 done, 1 refused or failed (the reason is printed), 2 no token configured.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sarathi.cli import runstate
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import format_inr

if TYPE_CHECKING:  # imported where used: `sarathi --help` imports this module
    import httpx

DEFAULT_URL = "http://127.0.0.1:8605"
TIMEOUT_SECONDS = 10.0

POSITION_HEADERS = (
    "contract", "status", "qty", "lots", "entry", "opened (IST)", "ltp", "P&L", "net of charges",
    "peak P&L", "trail", "tick age", "exit",
)  # fmt: skip


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


def _inr(value: Any) -> str | None:
    """A JSON money string as `₹1,234.50`; None stays None, anything unreadable is shown as is."""
    if value is None:
        return None
    try:
        return format_inr(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _ist(value: Any, pattern: str = "%H:%M:%S") -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).astimezone(IST).strftime(pattern)
    except ValueError:
        return str(value)


def _holds(halt: dict[str, Any]) -> str:
    if halt["cause"] == "KILL":
        return f"kill by {halt['actor']} at {_ist(halt['at'])} IST, until cleared: {halt['reason']}"
    return f"daily loss limit, for the rest of {halt['trading_day']}: {halt['reason']}"


def render_status(state: dict[str, Any], pnl: dict[str, Any]) -> str:
    """The state once: what it is, why, who and when, what holds it, whether resume would be refused."""
    rows: list[tuple[str, Any]] = [
        ("trading state", state["state"]),
        ("reason", state["reason"]),
        ("changed by", state["actor"]),
        ("changed at", f"{_ist(state['updated_at'], '%Y-%m-%d %H:%M:%S')} IST"),
    ]
    rows += [("held by", _holds(halt)) for halt in state.get("halts", [])]
    refusal = state.get("resume_refused")
    rows += [
        ("resume", f"refused: {refusal}" if refusal else "allowed"),
        ("P&L today (gross)", _inr(pnl["gross"])),
        ("charges", _inr(pnl["charges"])),
        ("P&L today (net)", _inr(pnl["net"])),
        ("daily loss limit", _inr(pnl["daily_loss_limit"])),
        ("open / closed", f"{pnl['open_positions']} / {pnl['closed_positions']}"),
    ]
    return table(("", ""), rows)


def render_positions(positions: list[dict[str, Any]]) -> str:
    """Contracts by name, ₹ amounts, entry time in IST (the ids stay in the JSON API)."""
    if not positions:
        return "No positions today."
    rows = [
        [
            p.get("contract") or p.get("security_id"),
            p["status"],
            p["quantity"],
            p.get("lots"),
            _inr(p["average_entry"]),
            _ist(p.get("opened_at")),
            _inr(p.get("ltp")),
            _inr(p["pnl_gross"]),
            _inr(p["pnl_net"]),
            _inr(p.get("hwm")),
            "armed" if p.get("trail_armed") else None,
            None if p.get("last_tick_age_seconds") is None else f"{p['last_tick_age_seconds']:g}s",
            p.get("exit_reason"),
        ]
        for p in positions
    ]
    return table(POSITION_HEADERS, rows)


def render_action(reply: dict[str, Any]) -> str:
    text = f"{reply['action']}: {reply['previous_state']} → {reply['state']}"
    exited = reply.get("exited")
    if exited:
        lines = []
        for e in exited:
            lots = "" if e.get("lots") is None else f" ({e['lots']} lot{'s' if e['lots'] != 1 else ''})"
            lines.append(f"  {e['contract']}: sell {e['quantity']}{lots}")
        text += "\nexits sent:\n" + "\n".join(lines)
    elif reply["exits"]:
        text += f"\nexits sent for: {', '.join(reply['exits'])}"
    elif reply["action"] in ("flatten", "kill"):
        text += "\nno open positions to exit"
    if reply["action"] == "clear_kill":
        text += "\nthe kill is cleared; trading stays HALTED until `sarathi resume`"
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
    reason = getattr(args, "reason", None)
    try:
        print(run(client, args.command, reason))
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


def _reason(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("a reason is required (it is recorded in the audit log)")
    if len(text) > 500:
        raise argparse.ArgumentTypeError("at most 500 characters")
    return text


def add_commands(commands: Any) -> None:
    """Register the operator commands on the `sarathi` parser's subcommands."""
    helps = {
        "status": "trading state, who changed it and why, today's P&L",
        "positions": "today's positions: P&L gross and net, high-water mark, trail, tick age",
        "pause": "no new entries; open positions stay managed",
        "resume": "allow entries again (refused after a kill, and all day after a daily loss halt)",
        "flatten": "exit every position now, stay ACTIVE",
        "kill": "HALT and exit every position; resume is refused until clear-kill",
        "clear-kill": 'lift a kill (state stays HALTED until resume): --reason "why" is required',
    }
    for name, text in helps.items():
        if name == "status":
            continue  # `sarathi status` (sarathi.cli.health) shows service health, then this
        parser = commands.add_parser(name, help=text)
        if name == "clear-kill":
            parser.add_argument(
                "--reason", required=True, type=_reason, help="why (required; recorded in the audit log)"
            )
        elif name not in ("status", "positions"):
            parser.add_argument("reason", nargs="?", default="", help="why (recorded in the audit log)")
        parser.set_defaults(handler=cmd_control)
