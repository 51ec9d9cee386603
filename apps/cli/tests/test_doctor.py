"""`sarathi doctor` against a real sim: passing, and each sim failure mode failing the right check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sarathi.cli.__main__ import main
from sarathi.cli.doctor import diagnose, probes, render
from sarathi.cli.doctor import verdicts as v
from sarathi.common.bus.nats import NatsBus
from sarathi.common.db import migrate
from sarathi.common.dhan.schemas import Profile, StaticIps
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.holiday_file import load_holiday_file
from sarathi.common.domain.holidays import NSE_BSE_HOLIDAYS
from sarathi.common.settings import Mode
from sarathi.sim.app import build_app
from sarathi.sim.settings import SimSettings
from sarathi.sim.testing.server import serving

MASTER_PATH = "api-data/api-scrip-master-detailed.csv"
DEAD_INFRA = {"NATS_URL": "nats://127.0.0.1:9", "DATABASE_URL": "postgresql://x@127.0.0.1:9/x"}


@contextmanager
def a_sim(**settings: Any) -> Iterator[dict[str, str]]:
    """A served sim and the environment that points the doctor at it."""
    sim_settings = SimSettings(sim_publish_clock=False, **settings)
    with serving(build_app(sim_settings), sim_settings) as sim:
        yield {
            "SARATHI_DHAN_REST_URL": f"{sim.http_url}/v2",
            "SARATHI_DHAN_FEED_URL": sim.feed_url,
            "SARATHI_DHAN_ORDER_UPDATE_URL": sim.order_update_url,
            "SARATHI_EXECUTION_INSTRUMENT_MASTER_URL": f"{sim.http_url}/{MASTER_PATH}",
            "SIM_URL": sim.http_url,
        }


def by_name(checks: list[v.Check]) -> dict[str, v.Check]:
    return {c.name: c for c in checks}


async def test_doctor_passes_against_a_sim_with_jetstream_and_a_migrated_database(
    jetstream_clean: str, fresh_database_url: str
) -> None:
    bus = await NatsBus.connect(jetstream_clean)
    try:
        await bus.ensure_streams()
    finally:
        await bus.close()
    migrate.upgrade(fresh_database_url)
    with a_sim() as env:
        import asyncio

        checks = await asyncio.to_thread(
            diagnose, "sim", {**env, "NATS_URL": jetstream_clean, "DATABASE_URL": fresh_database_url}
        )
    assert not v.failed(checks), render(checks)
    assert {c.name for c in checks} >= {"credentials", "static IP", "funds", "instrument master",
        "market feed", "order updates", "holidays file", "calendar", "NATS", "PostgreSQL",
        "configuration"}  # fmt: skip


FAILURE_MODES = [
    pytest.param({"sim_data_plan_active": False}, None, "data plan", "Deactive", id="data-plan-inactive"),
    pytest.param({"sim_funds_inr": Decimal(0)}, None, "funds", "available balance ₹0", id="zero-funds"),
    pytest.param({"sim_static_ips": "none"}, None, "static IP", "no primary static IP", id="no-static-ip"),
    pytest.param(
        {"sim_start": datetime(2026, 1, 26, 9, 15, tzinfo=IST)},
        None,
        "calendar",
        "Republic Day",
        id="holiday",
    ),
    pytest.param({}, "expire_token", "credentials", "Invalid Token", id="expired-token"),
]


@pytest.mark.parametrize(("settings", "fault", "check", "says"), FAILURE_MODES)
def test_each_sim_failure_mode_fails_its_check_with_a_useful_message(
    settings: dict[str, Any], fault: str | None, check: str, says: str
) -> None:
    with a_sim(**settings) as env:
        if fault:
            httpx.post(f"{env['SIM_URL']}/sim/faults", json={"kind": fault}).raise_for_status()
        checks = by_name(diagnose("sim", {**env, **DEAD_INFRA}))
    assert checks[check].status is v.Status.FAIL, render(list(checks.values()))
    assert says in checks[check].detail
    assert checks[check].fix


def test_a_failed_check_makes_the_command_exit_1_and_json_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with a_sim(sim_funds_inr=Decimal(0)) as env:
        for key, value in {**env, **DEAD_INFRA}.items():
            monkeypatch.setenv(key, value)
        code = main(["doctor", "--mode", "sim", "--json"])
    import json

    out = capsys.readouterr().out  # the in-process sim logs to stdout too: the report is the last object
    report = json.loads(out[out.rindex('{\n "mode"') :])
    assert code == 1
    assert report["ok"] is False
    assert {"name": "funds", "status": "fail"}.items() <= next(
        c for c in report["checks"] if c["name"] == "funds"
    ).items()


def test_a_bad_mode_is_refused_in_one_line_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["doctor", "--mode", "moon"])
    assert exited.value.code == 2
    assert "invalid choice: 'moon'" in capsys.readouterr().err


# --- verdicts (pure) -----------------------------------------------------------------------------

NOW = datetime(2026, 9, 16, 8, 0, tzinfo=IST)


def a_profile(**fields: str) -> Profile:
    base = {"tokenValidity": "17/09/2026 08:00", "activeSegment": "E, D, C, M, ", "dataPlan": "Active"}
    return Profile.model_validate(base | fields)


def test_a_token_with_under_four_hours_left_warns() -> None:
    checks = by_name(v.credentials(a_profile(tokenValidity="16/09/2026 11:30"), "", NOW))
    assert checks["credentials"].status is v.Status.WARN
    assert "3h30m left" in checks["credentials"].detail


def test_an_account_without_derivatives_fails_even_when_the_docs_spell_segments_as_words() -> None:
    assert v.credentials(a_profile(activeSegment="Equity, Derivative"), "", NOW)[2].status is v.Status.PASS
    assert v.credentials(a_profile(activeSegment="E, C, "), "", NOW)[2].status is v.Status.FAIL


def test_get_ip_error_shape_fails_the_static_ip_check_with_dhans_message() -> None:
    check = v.static_ip(StaticIps(message="No IP found"), "")
    assert check.status is v.Status.FAIL
    assert "No IP found" in check.detail


@pytest.mark.parametrize(("lots", "units"), [(25, 1875), (24, 1800)])  # above, and AT the freeze quantity
def test_sizing_at_or_above_the_freeze_quantity_fails_the_configuration(lots: int, units: int) -> None:
    facts = v.MasterFacts(lot_sizes={"NIFTY": 75}, freezes={"NIFTY": 1800})  # type: ignore[dict-item]
    config = v.Config(mode=Mode.SIM, live_trading="", daily_loss_limit_inr=Decimal(5000), lots=lots)
    check = v.configuration(config, facts)
    assert check.status is v.Status.FAIL
    assert f"{units} ≥ freeze 1800" in check.detail


def test_sizing_one_lot_below_the_freeze_quantity_passes_the_configuration() -> None:
    facts = v.MasterFacts(lot_sizes={"NIFTY": 75}, freezes={"NIFTY": 1800})  # type: ignore[dict-item]
    config = v.Config(mode=Mode.SIM, live_trading="", daily_loss_limit_inr=Decimal(5000), lots=23)
    check = v.configuration(config, facts)
    assert check.status is v.Status.PASS
    assert "daily loss limit ₹5,000.00" in check.detail


def test_live_mode_without_the_arming_switch_fails_the_configuration() -> None:
    config = v.Config(mode=Mode.LIVE, live_trading="", daily_loss_limit_inr=Decimal(5000), lots=1)
    assert v.configuration(config, None).status is v.Status.FAIL


def test_clock_off_by_more_than_a_second_warns() -> None:
    assert v.clock(1.5, "the feed").status is v.Status.WARN
    assert v.clock(0.4, "the feed").status is v.Status.PASS


# --- `sarathi up --mode paper|live` runs the doctor first ------------------------------------------


@pytest.fixture
def no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SARATHI_RUN_DIR", str(tmp_path / "up"))
    for key in ("SARATHI_DHAN_CLIENT_ID", "SARATHI_DHAN_ACCESS_TOKEN", "SARATHI_LIVE_TRADING"):
        monkeypatch.setenv(key, "")  # recorded, so what `up` reads from .env is undone after the test
        monkeypatch.delenv(key)
    return tmp_path


def test_up_live_refuses_without_the_arming_switch_even_with_credentials_from_dotenv(
    no_dotenv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (no_dotenv / ".env").write_text("SARATHI_DHAN_CLIENT_ID=1000000001\nSARATHI_DHAN_ACCESS_TOKEN=t\n")
    assert main(["up", "--mode", "live"]) == 2
    assert "SARATHI_LIVE_TRADING=armed" in capsys.readouterr().out


def test_up_paper_refuses_to_start_when_a_doctor_check_fails(
    no_dotenv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with a_sim(sim_data_plan_active=False) as env:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SARATHI_DHAN_CLIENT_ID", "1000000001")
        monkeypatch.setenv("SARATHI_DHAN_ACCESS_TOKEN", "sim-token")
        code = main(["up", "--mode", "paper"])
    out = capsys.readouterr().out
    assert code == 2
    assert "fail  data plan" in out
    assert "--skip-doctor" in out
    assert not (no_dotenv / "up" / "serve.log").exists()  # nothing was started


@pytest.mark.parametrize(
    ("now", "verdict"),
    [
        (datetime(2026, 11, 2, 8, 0, tzinfo=IST), "pass"),  # 2026 covered, and 30 days on too
        (datetime(2026, 12, 7, 8, 0, tzinfo=IST), "warn"),  # 6 Jan 2027: outside the table
    ],
)
def test_the_calendar_warns_a_month_before_the_holiday_table_runs_out(now: datetime, verdict: str) -> None:
    check = v.calendar_check(now, MarketCalendar())

    assert check.status.value == verdict
    if verdict == "warn":
        assert "ends before 2027-01-06" in check.detail
        assert "2027" in check.fix


# --- SARATHI_HOLIDAYS_FILE ------------------------------------------------------------------------

HOLIDAYS_HEADER = "kind,day,name,source,exchanges"
DECEMBER_2026 = datetime(2026, 12, 7, 8, 0, tzinfo=IST)


def a_holidays_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "holidays.csv"
    path.write_text("\n".join([HOLIDAYS_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def a_2027_file(tmp_path: Path, holidays: int = 12) -> Path:
    """Test data in the file's format: a weekday around the 10th of each month, not the circular."""
    days = [date(2027, month, 10) for month in range(1, holidays + 1)]
    days = [day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0) for day in days]
    return a_holidays_file(tmp_path, *(f"holiday,{d},Test holiday,NSE/CMTR/TEST-2027,NSE|BSE" for d in days))


def test_the_calendar_warning_names_the_holidays_setting_and_its_docs_section() -> None:
    check = v.calendar_check(DECEMBER_2026, MarketCalendar(NSE_BSE_HOLIDAYS))

    assert check.status is v.Status.WARN
    assert "SARATHI_HOLIDAYS_FILE" in check.fix
    assert "docs/going-live.md, 'Before 1 January: next year's holidays'" in check.fix


def test_with_next_years_file_the_calendar_no_longer_warns_in_december(tmp_path: Path) -> None:
    check = v.calendar_check(DECEMBER_2026, MarketCalendar(load_holiday_file(a_2027_file(tmp_path))))

    assert check.status is v.Status.PASS, check


def test_the_holidays_file_check_passes_unset_and_with_a_whole_year(tmp_path: Path) -> None:
    builtin, unset = probes.holidays("")
    path = a_2027_file(tmp_path)
    table, read = probes.holidays(str(path))

    assert builtin is NSE_BSE_HOLIDAYS
    assert unset.status is v.Status.PASS
    assert "not set" in unset.detail
    assert read.status is v.Status.PASS, read
    assert read.detail == f"{path} adds 2027 (12 holidays, 0 sessions); the calendar covers 2025, 2026, 2027"
    assert table.covers(date(2027, 6, 1))


def test_a_bad_holidays_file_fails_the_check_with_its_line(tmp_path: Path) -> None:
    path = a_holidays_file(tmp_path, "holiday,2027-01-02,New Year weekend,NSE/CMTR/TEST-2027,NSE|BSE")

    table, check = probes.holidays(str(path))

    assert check.status is v.Status.FAIL
    assert f"{path}:2: 2027-01-02 (New Year weekend) is a Saturday" in check.detail
    assert "SARATHI_HOLIDAYS_FILE" in check.fix
    assert table is NSE_BSE_HOLIDAYS  # the other checks still run, on the built-in table


def test_a_new_year_with_few_holidays_warns_that_the_file_must_list_it_whole(tmp_path: Path) -> None:
    _, check = probes.holidays(str(a_2027_file(tmp_path, holidays=1)))

    assert check.status is v.Status.WARN
    assert "2027 lists only 1 weekday holidays" in check.detail
    assert "whole" in check.fix


def test_an_amendment_of_a_built_in_year_is_named_as_such(tmp_path: Path) -> None:
    path = a_holidays_file(tmp_path, "holiday,2026-12-28,An ad-hoc closure,NSE/CMTR/TEST-2026,NSE")

    _, check = probes.holidays(str(path))

    assert check.status is v.Status.PASS
    assert "amends 2026 (1 holidays, 0 sessions)" in check.detail


def test_the_doctor_fails_the_holidays_check_of_a_bad_file_against_a_sim(tmp_path: Path) -> None:
    path = a_holidays_file(tmp_path, "holiday,2027-01-26,Republic Day,,NSE|BSE")

    with a_sim() as env:
        checks = by_name(diagnose("sim", {**env, **DEAD_INFRA, "SARATHI_HOLIDAYS_FILE": str(path)}))

    assert checks["holidays file"].status is v.Status.FAIL
    assert f"{path}:2: the source is empty" in checks["holidays file"].detail
    assert "calendar" in checks  # judged on the built-in table


def test_up_refuses_to_start_on_a_bad_holidays_file_in_one_line(
    no_dotenv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = a_holidays_file(no_dotenv, "holiday,2027-01-26,Republic Day,C-1,NSE|MCX")
    monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(path))

    assert main(["up"]) == 2

    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        f"SARATHI_HOLIDAYS_FILE {path}:2: exchanges 'NSE|MCX': write NSE|BSE, NSE or BSE; refusing to start."
    ]
    assert not (no_dotenv / "up" / "serve.log").exists()
