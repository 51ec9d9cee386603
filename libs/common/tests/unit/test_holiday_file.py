"""`SARATHI_HOLIDAYS_FILE`: next year's holidays from the operator's CSV, read by every default
`MarketCalendar()`. The 2027 rows here are test data in the file's format, not the circular."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI

from sarathi.common.domain.calendar import CalendarCoverageError, Expiry, ExpiryKind, MarketCalendar
from sarathi.common.domain.holiday_file import HolidayFileError, load_holiday_file
from sarathi.common.domain.instruments import Exchange, Underlying
from sarathi.common.runtime import run_service
from sarathi.common.settings import ServiceSettings

HEADER = "kind,day,name,source,exchanges"
REPUBLIC_DAY_2027 = "holiday,2027-01-26,Republic Day,NSE/CMTR/TEST-2027,NSE|BSE"
AMBEDKAR_JAYANTI_2027 = "holiday,2027-04-14,Dr. Baba Saheb Ambedkar Jayanti,NSE/CMTR/TEST-2027,NSE|BSE"

UseFile = Callable[..., Path]


def a_holidays_file(tmp_path: Path, *rows: str, name: str = "holidays.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def use_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> UseFile:
    """Point SARATHI_HOLIDAYS_FILE at a file of these rows; returns its path."""

    def setting(*rows: str) -> Path:
        path = a_holidays_file(tmp_path, *rows)
        monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(path))
        return path

    return setting


def test_a_2027_file_makes_2027_covered_and_its_holidays_closed(use_file: UseFile) -> None:
    use_file(REPUBLIC_DAY_2027, AMBEDKAR_JAYANTI_2027)

    calendar = MarketCalendar()

    assert not calendar.is_trading_day(date(2027, 1, 26), Exchange.NSE)
    assert not calendar.is_trading_day(date(2027, 4, 14), Exchange.BSE)
    assert calendar.is_trading_day(date(2027, 1, 27))  # a Wednesday the file does not list
    republic_day = calendar.holidays.holiday_on(date(2027, 1, 26), Exchange.NSE)
    assert republic_day is not None
    assert republic_day.name == "Republic Day"
    # The monthly NIFTY expiry of Tuesday 26 Jan moves to Monday 25 Jan.
    assert calendar.expiries(Underlying.NIFTY, date(2027, 1, 18), date(2027, 1, 29)) == [
        Expiry(date(2027, 1, 19), Underlying.NIFTY, ExpiryKind.WEEKLY),
        Expiry(date(2027, 1, 25), Underlying.NIFTY, ExpiryKind.MONTHLY),
    ]
    assert calendar.is_trading_day(date(2026, 9, 15))  # the built-in years still answer
    assert not calendar.is_trading_day(date(2026, 12, 25))


def test_a_weekend_session_in_the_file_is_a_trading_day_and_an_nse_only_holiday_leaves_bse_open(
    use_file: UseFile,
) -> None:
    use_file(
        REPUBLIC_DAY_2027,
        "session,2027-02-06,Special Saturday session,NSE/CMTR/TEST-2027,NSE|BSE",
        "holiday,2027-03-03,An NSE-only closure,NSE/CMTR/TEST-2027,NSE",
    )

    calendar = MarketCalendar()

    assert calendar.is_trading_day(date(2027, 2, 6), Exchange.BSE)
    assert not calendar.is_trading_day(date(2027, 3, 3), Exchange.NSE)
    assert calendar.is_trading_day(date(2027, 3, 3), Exchange.BSE)


def test_a_holiday_on_a_weekend_is_refused_naming_the_file_and_line(use_file: UseFile) -> None:
    path = use_file(REPUBLIC_DAY_2027, "holiday,2027-01-02,New Year weekend,NSE/CMTR/TEST-2027,NSE|BSE")

    with pytest.raises(
        HolidayFileError, match=rf"SARATHI_HOLIDAYS_FILE {path}:3: 2027-01-02 .* is a Saturday"
    ):
        MarketCalendar()


def test_a_row_without_a_source_is_refused_naming_the_file_and_line(use_file: UseFile) -> None:
    path = use_file("holiday,2027-01-26,Republic Day, ,NSE|BSE")

    with pytest.raises(HolidayFileError, match=rf"{path}:2: the source is empty"):
        MarketCalendar()


def test_amending_2026_adds_a_closure_to_the_built_in_ones(use_file: UseFile) -> None:
    use_file("holiday,2026-12-28,An ad-hoc closure,NSE/CMTR/TEST-2026,NSE|BSE")

    calendar = MarketCalendar()

    assert not calendar.is_trading_day(date(2026, 12, 28))
    assert not calendar.is_trading_day(date(2026, 12, 25))  # Christmas, built in, still closed
    assert calendar.previous_trading_day(date(2026, 12, 29)) == date(2026, 12, 24)
    with pytest.raises(CalendarCoverageError):  # amending 2026 covers no new year
        calendar.is_trading_day(date(2027, 1, 4))


def test_a_row_the_built_in_table_already_has_is_ignored_so_the_file_survives_an_upgrade(
    use_file: UseFile,
) -> None:
    use_file(
        "holiday,2026-12-25,Christmas,NSE/CMTR/71775,NSE|BSE",
        "holiday,2026-01-15,Maharashtra elections,NSE/CMTR/72260,NSE",
        REPUBLIC_DAY_2027,
    )

    calendar = MarketCalendar()

    assert not calendar.is_trading_day(date(2026, 12, 25))
    assert not calendar.is_trading_day(date(2027, 1, 26))
    assert calendar.holidays.holidays[-1].day == date(2027, 1, 26)  # only the new row was added


def test_without_the_setting_nothing_changes_and_2027_still_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SARATHI_HOLIDAYS_FILE", raising=False)

    calendar = MarketCalendar()

    assert calendar.holidays.covered_years == frozenset({2025, 2026})
    with pytest.raises(CalendarCoverageError, match="SARATHI_HOLIDAYS_FILE"):
        calendar.is_trading_day(date(2027, 1, 4))


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        (
            ["session,2027-01-27,A Wednesday session,C-1,NSE|BSE"],
            ":2: 2027-01-27 .* a Wednesday.*must be a Saturday",
        ),
        (
            ["closure,2027-01-26,Republic Day,C-1,NSE|BSE"],
            ":2: kind 'closure' is neither holiday nor session",
        ),
        (["holiday,26-01-2027,Republic Day,C-1,NSE|BSE"], ":2: day '26-01-2027' is not a YYYY-MM-DD date"),
        (["holiday,2027-02-30,Nonsense,C-1,NSE|BSE"], ":2: day is out of range"),
        (["holiday,2027-01-26,,C-1,NSE|BSE"], ":2: the name is empty"),
        (["holiday,2027-01-26,Republic Day,C-1,NSE,BSE"], ":2: 6 columns, expected 5"),
        (["holiday,2027-01-26,Republic Day,C-1,MCX"], ":2: exchanges 'MCX'"),
        (["holiday,2027-01-26,Republic Day,C-1,"], ":2: exchanges ''"),
        (
            [REPUBLIC_DAY_2027, "# a comment", "", "holiday,2027-01-26,Again,C-2,BSE"],
            ":5: .* already listed \\(line 2\\)",
        ),
        ([], ": no rows"),
    ],
)
def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, rows: list[str], says: str) -> None:
    path = a_holidays_file(tmp_path, *rows)

    with pytest.raises(HolidayFileError, match=f"{path}{says}"):
        load_holiday_file(path)


def test_a_file_without_the_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text(REPUBLIC_DAY_2027 + "\n", encoding="utf-8")

    with pytest.raises(HolidayFileError, match=f"{path}:1: the first row must be the header"):
        load_holiday_file(path)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(tmp_path / "absent.csv"))

    with pytest.raises(HolidayFileError, match=f"{tmp_path / 'absent.csv'}: cannot read"):
        MarketCalendar()


def test_the_file_is_read_once_per_modification_time(tmp_path: Path) -> None:
    path = a_holidays_file(tmp_path, REPUBLIC_DAY_2027)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))

    first, again = load_holiday_file(path), load_holiday_file(path)
    a_holidays_file(tmp_path, REPUBLIC_DAY_2027, AMBEDKAR_JAYANTI_2027)
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    edited = load_holiday_file(path)

    assert again is first
    assert edited is not first
    assert edited.is_holiday(date(2027, 4, 14), Exchange.NSE)


def test_a_service_refuses_to_start_on_a_bad_file_in_one_line(
    use_file: UseFile,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = use_file("holiday,2027-01-02,New Year weekend,NSE/CMTR/TEST-2027,NSE|BSE")

    def build_app(_: ServiceSettings) -> FastAPI:
        raise AssertionError("the app must not be built")

    with pytest.raises(SystemExit) as stopped:
        run_service("feed", ServiceSettings, build_app)

    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(f"sarathi-feed: SARATHI_HOLIDAYS_FILE {path}:2: ")
