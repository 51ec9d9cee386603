"""`sarathi status|positions|pause|resume|flatten|kill|clear-kill`: bearer token sent, readable
tables (contract names, ₹, IST), one account of a halt, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from sarathi.cli import control
from sarathi.cli.__main__ import build_parser, cmd_status, main

POSITION = {
    "contract": "NIFTY 24200 CE 22-Sep", "lots": 2,
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
        if request.url.path in ("/clear-kill", "/flatten"):
            return httpx.Response(200, json=FLATTENED if request.url.path == "/flatten" else CLEARED)
        return httpx.Response(404, json={"detail": "Not Found"})

    return httpx.MockTransport(answer)


FLATTENED = {
    "action": "flatten", "state": "ACTIVE", "previous_state": "ACTIVE", "exits": ["sub-0001"],
    "exited": [{"entry_order_id": "sub-0001", "contract": "NIFTY 24200 CE 22-Sep", "security_id": "52175",
                "quantity": 130, "lots": 2}],
}  # fmt: skip
CLEARED = {"action": "clear_kill", "state": "HALTED", "previous_state": "HALTED", "exits": [], "exited": []}
HALTED_BY_DAILY_LOSS = {
    "state": "HALTED", "reason": "daily loss limit ₹5000 breached: net P&L today ₹-5224.96", "actor": "risk",
    "updated_at": "2026-09-15T05:40:00+00:00",
    "halts": [{"cause": "DAILY_LOSS", "trading_day": "2026-09-15", "at": "2026-09-15T05:40:00+00:00",
               "actor": "risk", "reason": "daily loss limit ₹5000 breached: net P&L today ₹-5224.96",
               "holds_until": "end of trading day"}],
    "resume_refused": "today's daily loss limit is breached: trading stays halted until tomorrow",
}  # fmt: skip
PNL_AFTER_THE_EXITS = {
    "trading_day": "2026-09-15", "realized_gross": "-3410.00", "unrealized_gross": "0.00",
    "gross": "-3410.00", "charges": "90.73", "net": "-3500.73", "daily_loss_limit": "5000.00",
    "daily_loss_breached": False, "open_positions": 0, "closed_positions": 2,
}  # fmt: skip


def test_positions_name_the_contract_in_rupees_with_the_entry_time_in_ist_and_no_ids() -> None:
    seen: list[httpx.Request] = []
    client = control.ControlClient("http://risk", "s3cret", transport=a_risk_api(seen))
    text = control.run(client, "positions", None)
    header, rule, row = text.splitlines()
    assert header.split()[:2] == ["contract", "status"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.startswith("NIFTY 24200 CE 22-Sep  OPEN")
    assert {"₹100.00", "₹1,600.00", "₹1,551.23", "09:15:00", "armed"} <= set(row.split())
    assert "sub-0001" not in text
    assert "52175" not in text


def test_status_gives_one_account_of_a_halt_that_never_contradicts_it() -> None:
    text = control.render_status(HALTED_BY_DAILY_LOSS, PNL_AFTER_THE_EXITS)
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in text.splitlines()[2:])
    assert rows["trading state"] == "HALTED"
    assert rows["held by"].startswith("daily loss limit, for the rest of 2026-09-15")
    assert rows["resume"].startswith("refused: today's daily loss limit is breached")
    assert rows["P&L today (net)"] == "-₹3,500.73"
    assert rows["changed at"] == "2026-09-15 11:10:00 IST"
    assert "limit breached" not in rows  # the row that said "no" beside HALTED


def test_flatten_says_what_it_exited_by_name_and_quantity() -> None:
    client = control.ControlClient("http://risk", "s3cret", transport=a_risk_api([]))
    assert control.run(client, "flatten", "done") == (
        "flatten: ACTIVE → ACTIVE\nexits sent:\n  NIFTY 24200 CE 22-Sep: sell 130 (2 lots)"
    )


def test_clear_kill_sends_its_required_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[httpx.Request] = []
    args = build_parser().parse_args(["clear-kill", "--reason", "broker is back"])
    assert (args.handler, args.reason) == (control.cmd_control, "broker is back")
    client = control.ControlClient("http://risk", "s3cret", transport=a_risk_api(seen))
    assert control.run(client, "clear-kill", args.reason).splitlines() == [
        "clear_kill: HALTED → HALTED",
        "the kill is cleared; trading stays HALTED until `sarathi resume`",
    ]
    assert (seen[-1].url.path, json.loads(seen[-1].content)) == ("/clear-kill", {"reason": "broker is back"})
    for argv in (["clear-kill"], ["clear-kill", "--reason", "  "]):
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args(argv)
        assert exit_.value.code == 2
        assert "reason" in capsys.readouterr().err.splitlines()[-1]


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
