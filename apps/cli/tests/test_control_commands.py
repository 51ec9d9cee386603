"""`sarathi status|positions|pause|resume|flatten|kill`: bearer token sent, readable tables, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sarathi.cli import control
from sarathi.cli.__main__ import build_parser, cmd_status, main

POSITION = {
    "entry_order_id": "sub-0001", "security_id": "52175", "segment": "NSE_FNO", "underlying": "NIFTY",
    "status": "OPEN", "quantity": 80, "average_entry": "100", "ltp": "120", "pnl_gross": "1600.00",
    "pnl_net": "1551.23", "hwm": "1600.00", "trail_armed": True, "last_tick_age_seconds": 0.4,
    "stale": False, "exit_reason": None, "opened_at": "2026-09-15T09:15:00+05:30", "closed_at": None,
}  # fmt: skip


def a_risk_api(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") != "Bearer s3cret":
            return httpx.Response(401, json={"detail": "a valid bearer token is required"})
        if request.url.path == "/positions":
            return httpx.Response(200, json=[POSITION])
        if request.url.path == "/pause":
            return httpx.Response(
                200, json={"action": "pause", "state": "PAUSED", "previous_state": "ACTIVE", "exits": []}
            )
        if request.url.path == "/resume":
            return httpx.Response(409, json={"detail": "today's daily loss limit is breached"})
        return httpx.Response(404, json={"detail": "Not Found"})

    return httpx.MockTransport(answer)


def test_positions_are_a_readable_table() -> None:
    seen: list[httpx.Request] = []
    client = control.ControlClient("http://risk", "s3cret", transport=a_risk_api(seen))
    text = control.run(client, "positions", None)
    header, rule, row = text.splitlines()
    assert header.split()[:4] == ["entry", "contract", "und", "status"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert "1600.00" in row
    assert "yes" in row
    assert "sub-0001" in row


def test_an_action_sends_the_token_and_the_reason() -> None:
    seen: list[httpx.Request] = []
    client = control.ControlClient("http://risk", "s3cret", transport=a_risk_api(seen))
    assert control.run(client, "pause", "news") == "pause: ACTIVE → PAUSED"
    assert json.loads(seen[-1].content) == {"reason": "news"}
    with pytest.raises(control.ControlError, match="409"):
        control.run(client, "resume", None)


def test_a_wrong_token_is_reported_as_refused() -> None:
    client = control.ControlClient("http://risk", "wrong", transport=a_risk_api([]))
    with pytest.raises(control.ControlError, match="401"):
        control.run(client, "positions", None)


def test_without_a_token_the_command_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("SARATHI_CONTROL_TOKEN", raising=False)
    monkeypatch.setenv("SARATHI_RUN_DIR", str(tmp_path))  # no `sarathi up` state to fall back on
    assert main(["kill", "test"]) == 2
    assert "SARATHI_CONTROL_TOKEN" in capsys.readouterr().out


def test_every_operator_command_is_registered() -> None:
    parser = build_parser()
    for command in ("positions", "pause", "resume", "flatten", "kill"):
        assert parser.parse_args([command]).handler is control.cmd_control
    # health first, then the control API (`sarathi.cli.health`, imported when the command runs)
    assert parser.parse_args(["status"]).handler is cmd_status
    assert parser.parse_args(["kill", "runaway"]).reason == "runaway"
