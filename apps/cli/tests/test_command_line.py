"""`sarathi` as a new user meets it: help, version, and bad input refused in one line by argument
parsing, before NATS, PostgreSQL or any service starts (parsing alone is exercised: nothing runs)."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sarathi.cli import __main__ as cli
from sarathi.cli import run

HEAVY = ("sqlalchemy", "httpx", "fastapi", "polars", "nats", "alembic", "uvicorn", "sarathi.cli.day")


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line argparse prints for `argv` (it exits 2; nothing else happens)."""
    with pytest.raises(SystemExit) as stopped:
        parse(*argv)
    assert stopped.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1, errors
    return errors[0]


def test_bare_sarathi_prints_the_whole_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    shown = capsys.readouterr().err
    assert "usage: sarathi" in shown
    for command in ("run", "up", "down", "status", "report", "migrate", "instruments", "positions", "kill"):
        assert f"\n    {command} " in shown or f"\n    {command}\n" in shown, command


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"sarathi {cli.version()}"
    assert cli.version()[0].isdigit()


def test_internal_commands_are_not_shown_in_the_help() -> None:
    shown = cli.build_parser().format_help()
    assert "_serve" not in shown
    assert parse("_serve").command == "_serve"  # still there for `sarathi up` to start


def test_help_imports_none_of_the_heavy_modules() -> None:
    probe = (
        "import json, sys\n"
        "from sarathi.cli.__main__ import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    command = [sys.executable, "-c", probe]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        ("2026-09-19", "2026-09-19 is a Saturday: no trading session; the next trading day is 2026-09-21"),
        ("2026-09-20", "2026-09-20 is a Sunday"),
        ("2026-09-14", "2026-09-14 is an exchange holiday (Ganesh Chaturthi)"),
        ("2020-03-02", "2020-03-02 is outside the market calendar (it covers 2025, 2026)"),
        ("2030-03-04", "2030-03-04 is outside the market calendar (it covers 2025, 2026)"),
        ("16-09-2026", "'16-09-2026' is not a date (YYYY-MM-DD)"),
    ],
)
@pytest.mark.parametrize("command", ["run", "up"])
def test_a_day_without_a_session_is_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str], command: str, day: str, reason: str
) -> None:
    line = refused(capsys, command, "--date", day)
    assert line.startswith(f"sarathi {command}: error: argument --date: {reason}")


def test_a_trading_day_and_a_budget_sunday_are_accepted() -> None:
    assert parse("run", "--date", "2026-09-16").date == date(2026, 9, 16)
    assert parse("up", "--date", "2026-02-01").date == date(2026, 2, 1)  # the Union Budget session


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--speed", "abc", "'abc' is not a number"),
        ("--speed", "0", "0 is out of range: from 1 to 2000"),
        ("--speed", "-3", "-3 is out of range: from 1 to 2000"),
        ("--speed", "5000", "5000 is out of range: from 1 to 2000"),
        ("--speed", "nan", "nan is out of range: from 1 to 2000"),
        ("--seed", "-1", "-1 is out of range: from 0 to"),
        ("--seed", "1.5", "'1.5' is not a whole number"),
    ],
)
@pytest.mark.parametrize("command", ["run", "up"])
def test_a_bad_speed_or_seed_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], command: str, option: str, value: str, reason: str
) -> None:
    line = refused(capsys, command, option, value)
    assert line.startswith(f"sarathi {command}: error: argument {option}: {reason}")


def test_speed_and_seed_at_their_bounds_are_accepted() -> None:
    assert parse("run", "--speed", "1", "--seed", "0").speed == Decimal(1)
    assert parse("run", "--speed", "2000").speed == Decimal(2000)
    assert parse("up", "--speed", "2.5").speed == Decimal("2.5")


def test_a_report_dir_that_cannot_be_written_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    line = refused(capsys, "run", "--report-dir", str(a_file / "reports"))
    assert f"argument --report-dir: cannot write to {a_file / 'reports'}: {a_file} is not a directory" in line
    line = refused(capsys, "run", "--run-dir", str(a_file))
    assert "argument --run-dir: cannot write to" in line


def test_a_report_dir_that_does_not_exist_yet_is_accepted_and_not_created(tmp_path: Path) -> None:
    wanted = tmp_path / "new" / "reports"
    assert parse("run", "--report-dir", str(wanted)).report_dir == wanted
    assert not (tmp_path / "new").exists()


def test_the_base_port_leaves_room_for_six_services(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse("run", "--base-port", "9100").base_port == 9100
    assert "from 1024 to 65530" in refused(capsys, "run", "--base-port", "65531")
    assert "'x' is not a port number" in refused(capsys, "run", "--base-port", "x")


def test_a_line_rewritten_in_place_is_cleared_before_other_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    run._waiting("waiting for sim: ConnectError")
    run.say("sim ready")
    run._waiting("waiting for orders: ConnectError")
    run._waiting("waiting for risk: ReadTimeout")
    run.say("All six services ready")
    out = capsys.readouterr().out
    assert out == (
        "\r\033[K  waiting for sim: ConnectError\r\033[Ksim ready\n"
        "\r\033[K  waiting for orders: ConnectError\r\033[K  waiting for risk: ReadTimeout"
        "\r\033[KAll six services ready\n"
    )


def test_migrate_without_database_url_uses_the_documented_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's default, postgresql://postgres@127.0.0.1:5432/sarathi; the upgrade itself is
    recorded, not run (this machine's own PostgreSQL may be on 5432)."""
    from sarathi.common.db import migrate

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SARATHI_DATABASE_URL", raising=False)
    upgraded: list[str] = []
    monkeypatch.setattr(migrate, "upgrade", lambda url, revision="head": upgraded.append(str(url)))
    assert cli.main(["migrate"]) == 0
    assert upgraded == ["postgresql+psycopg://postgres@127.0.0.1:5432/sarathi"]
    assert "at the latest schema" in capsys.readouterr().out


def test_migrate_against_a_server_that_does_not_answer_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        monkeypatch.setenv("DATABASE_URL", f"postgresql://sarathi:secret@127.0.0.1:{port}/sarathi")
        assert cli.main(["migrate"]) == 1
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1
    assert said[0].startswith(
        f"sarathi migrate: cannot upgrade postgresql+psycopg://sarathi:***@127.0.0.1:{port}"
    )
    assert "secret" not in said[0]


def test_run_against_a_database_that_does_not_answer_says_so_in_one_line_and_stops(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{port}")  # given: nothing is started for it
        monkeypatch.setenv("DATABASE_URL", f"postgresql://sarathi:secret@127.0.0.1:{port}/sarathi")
        code = cli.main(["run", "--run-dir", str(tmp_path / "run"), "--report-dir", str(tmp_path / "out")])
    said = capsys.readouterr().out
    assert code == 1
    failed = [line for line in said.splitlines() if "failed" in line]
    assert failed == [failed[0]]
    assert failed[0].startswith(
        f"sarathi run failed: cannot migrate postgresql+psycopg://sarathi:***@127.0.0.1:{port}"
    )
    assert "Traceback" not in said
    assert "secret" not in said


# --- SARATHI_HOLIDAYS_FILE ------------------------------------------------------------------------


def a_holidays_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "holidays.csv"
    path.write_text("\n".join(["kind,day,name,source,exchanges", *rows]) + "\n", encoding="utf-8")
    return path


def test_a_2027_holidays_file_lets_run_take_a_2027_day_and_names_its_holidays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = a_holidays_file(tmp_path, "holiday,2027-01-26,Republic Day,NSE/CMTR/TEST-2027,NSE|BSE")
    monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(path))

    assert parse("run", "--date", "2027-01-27").date == date(2027, 1, 27)
    line = refused(capsys, "run", "--date", "2027-01-26")
    assert "2027-01-26 is an exchange holiday (Republic Day)" in line
    assert "the next trading day is 2027-01-27" in line


def test_a_bad_holidays_file_refuses_the_date_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = a_holidays_file(tmp_path, "holiday,2027-01-30,A Saturday,NSE/CMTR/TEST-2027,NSE|BSE")
    monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(path))

    line = refused(capsys, "run", "--date", "2026-09-16")

    assert line.startswith(f"sarathi run: error: argument --date: SARATHI_HOLIDAYS_FILE {path}:2: 2027-01-30")


def test_a_command_that_builds_the_calendar_reports_a_bad_holidays_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(tmp_path / "absent.csv"))
    monkeypatch.delenv("SARATHI_DHAN_REST_URL", raising=False)
    argv = ["data", "download", "--from", "2026-06-01", "--to", "2026-06-02", "--data-dir", str(tmp_path)]

    assert cli.main(argv) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"sarathi data: error: SARATHI_HOLIDAYS_FILE {tmp_path / 'absent.csv'}: cannot read: "
                   "No such file or directory"]  # fmt: skip


def test_run_refuses_a_bad_holidays_file_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = a_holidays_file(tmp_path, "holiday,2027-01-26,Republic Day,NSE/CMTR/TEST-2027,NSE|BSE|NSE")
    monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(path))

    assert (
        cli.main(["run", "--run-dir", str(tmp_path / "run"), "--report-dir", str(tmp_path / "report")]) == 2
    )

    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"sarathi run: error: SARATHI_HOLIDAYS_FILE {path}:2: exchanges 'NSE|BSE|NSE': "
                   "write NSE|BSE, NSE or BSE"]  # fmt: skip
    assert not (tmp_path / "run").exists()
