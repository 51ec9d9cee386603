"""`sarathi report --day D`: one deployed day's books out of a database that holds several days.

Against a real, migrated PostgreSQL: rows of two days (and rows either side of IST midnight), one
trade a day; the day's books hold that day's only, and the command writes that day's report and
trades document, its prices named by the mode, its books "not checked against the broker".
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from sarathi.cli import __main__ as cli
from sarathi.cli import runstate
from sarathi.cli.backtest.parity import compare
from sarathi.cli.books import load_books
from sarathi.cli.report import build_report, render_text
from sarathi.cli.report_day import DeployedDay
from sarathi.cli.report_html import render_html
from sarathi.common.db import migrate
from sarathi.common.db.engine import create_engine
from sarathi.common.db.models.execution import Decision
from sarathi.common.db.models.orders import Fill, Order
from sarathi.common.db.models.refdata import Derivative
from sarathi.common.db.models.risk import PositionTracker
from sarathi.common.db.models.signals import Signal
from sarathi.common.domain.calendar import IST

DAY = date(2026, 9, 16)  # a Wednesday
DAY_BEFORE = date(2026, 9, 15)
SECURITY_ID = "52175"  # one id, two contracts: Dhan reuses an id after its contract expires
PAPER_PRICES = (
    "Prices: the live Dhan feed (paper mode) — real prices, simulated fills (the `sim` paper broker)."
)
SIM_PRICES = (
    "Prices: the synthetic `sim` market (sim mode) — a synthetic market says nothing about real "
    "profitability."
)
REPLAYED_PRICES = (
    "Prices: a recording of the market feed, played back (feed-20260916.rec) — real prices, simulated fills."
)


def ist(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), IST)


@dataclass(frozen=True)
class ATrade:
    """One signal, its decision, a MARKET entry and our exit, each filled, and risk's tracker."""

    day: date
    tag: str
    entry: Decimal
    exit: Decimal
    lots: int = 1

    def rows(self) -> list[object]:
        qty, at = 65 * self.lots, self.day
        signal_id, entry_id, exit_id = f"NIFTY-{self.tag}", f"E-{self.tag}", f"x-{self.tag}"
        return [
            Signal(signal_id=signal_id, underlying="NIFTY", strategy="supertrend_rsi",
                   bar_close_at=ist(at, 10), direction="BULLISH", indicators={"reason": "up"},
                   created_at=ist(at, 10)),
            Decision(signal_id=signal_id, underlying="NIFTY", outcome="PLACED", reason="placed",
                     command_id=entry_id, details={}, decided_at=ist(at, 10, 1)),
            self._order(entry_id, "BUY", qty, self.entry, ist(at, 10, 1)),
            self._order(exit_id, "SELL", qty, self.exit, ist(at, 11), reason="TRAILING"),
            PositionTracker(security_id=SECURITY_ID, exchange_segment="NSE_FNO", underlying="NIFTY",
                            entry_order_id=entry_id, status="CLOSED", quantity=0,
                            average_entry=self.entry, trail_armed=True, exit_reason="TRAILING",
                            opened_at=ist(at, 10, 1), closed_at=ist(at, 11), correlation_id=self.tag),
        ]  # fmt: skip

    def _order(
        self, cid: str, side: str, qty: int, price: Decimal, at: datetime, *, reason: str | None = None
    ) -> Order:
        return Order(client_order_id=cid, broker_order_id=f"b{cid}", command_id=cid, security_id=SECURITY_ID,
                     exchange_segment="NSE_FNO", side=side, product="INTRADAY", order_type="MARKET",
                     quantity=qty, status="TRADED", filled_quantity=qty, average_price=price,
                     created_at=at, updated_at=at, correlation_id=self.tag, underlying="NIFTY",
                     exit_reason=reason)  # fmt: skip


def a_contract(expiry: date, strike: int) -> Derivative:
    return Derivative(security_id=SECURITY_ID, exchange_segment="NSE_FNO", underlying="NIFTY", expiry=expiry,
                      strike=Decimal(strike), option_type="CE", lot_size=65, tick_size=Decimal("0.05"),
                      trading_symbol=f"NIFTY-{strike}-CE", synced_at=ist(DAY_BEFORE, 8))  # fmt: skip


def insert(url: str, *trades: ATrade, extra: tuple[object, ...] = ()) -> None:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            for trade in trades:
                rows = trade.rows()
                session.add_all(rows)
                session.flush()  # the orders' ids, for their fills
                for order in (r for r in rows if isinstance(r, Order)):
                    assert order.id is not None
                    assert order.average_price is not None
                    at = order.created_at + timedelta(seconds=2)
                    fill = Fill(order_id=order.id, broker_trade_id=f"t{order.client_order_id}",
                                quantity=order.quantity, price=order.average_price, traded_at=at)  # fmt: skip
                    session.add(fill)
            session.add_all(extra)
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture
def two_days(fresh_database_url: str) -> str:
    """A database with a trade on each of two days, and rows either side of midnight IST."""
    migrate.upgrade(fresh_database_url)
    late = Decision(signal_id="NIFTY-late", underlying="NIFTY", outcome="REFUSED", reason="market closed",
                    details={"gate": "market_hours"}, decided_at=ist(DAY_BEFORE, 23, 59))  # fmt: skip
    # 00:01 IST is 18:31 UTC the day before: a UTC day would put it on the wrong day.
    early = Signal(signal_id="NIFTY-early", underlying="NIFTY", strategy="supertrend_rsi",
                   bar_close_at=ist(DAY, 0, 1), direction="NEUTRAL", indicators={"reason": "warming up"},
                   created_at=ist(DAY, 0, 1))  # fmt: skip
    insert(
        fresh_database_url,
        ATrade(DAY_BEFORE, "mon", Decimal("80.00"), Decimal("70.00"), lots=2),
        ATrade(DAY, "wed", Decimal("100.00"), Decimal("120.00")),
        extra=(a_contract(DAY_BEFORE, 24000), a_contract(date(2026, 9, 22), 24200), late, early),
    )
    return fresh_database_url


@pytest.fixture
def no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No database URL or mode from the environment, no `.env`, no `sarathi up` system."""
    for name in ("DATABASE_URL", "SARATHI_DATABASE_URL", "SARATHI_MODE", "SARATHI_SIM_REPLAY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SARATHI_RUN_DIR", str(tmp_path / "up"))
    return tmp_path


def report(*argv: str) -> int:
    return cli.main(["report", *argv])


# --- the day's books ----------------------------------------------------------------------------


def test_the_books_of_a_day_hold_that_ist_days_rows_only(two_days: str) -> None:
    books = load_books(two_days, DAY)

    assert [o.client_order_id for o in books.orders] == ["E-wed", "x-wed"]
    assert {f.client_order_id: f.price for f in books.fills} == {"E-wed": Decimal(100), "x-wed": Decimal(120)}
    assert [t.entry_order_id for t in books.trackers] == ["E-wed"]
    assert [s.signal_id for s in books.signals] == ["NIFTY-early", "NIFTY-wed"]
    assert [d.signal_id for d in books.decisions] == ["NIFTY-wed"]
    assert books.contracts[SECURITY_ID].expiry == date(2026, 9, 22)  # not the expired 24000 CE


def test_the_books_of_the_day_before_end_at_its_midnight_ist(two_days: str) -> None:
    books = load_books(two_days, DAY_BEFORE)

    assert [o.client_order_id for o in books.orders] == ["E-mon", "x-mon"]
    assert [s.signal_id for s in books.signals] == ["NIFTY-mon"]
    assert [d.signal_id for d in books.decisions] == ["NIFTY-mon", "NIFTY-late"]
    assert books.contracts[SECURITY_ID].strike == 24000


def test_without_a_day_the_books_hold_everything_as_sarathi_run_reads_them(two_days: str) -> None:
    books = load_books(two_days)

    parts = (books.orders, books.fills, books.trackers, books.signals, books.decisions)
    assert [len(rows) for rows in parts] == [4, 4, 2, 3, 3]


# --- the report without the broker --------------------------------------------------------------


def test_a_report_without_the_brokers_books_says_they_were_not_checked(two_days: str) -> None:
    info = DeployedDay(DAY, "paper", "SARATHI_MODE", "postgresql+psycopg://sarathi:***@db/sarathi")
    day = build_report(load_books(two_days, DAY), None, info)

    text = render_text(day)
    html = render_html(day, {}, ist(DAY, 9, 15), ist(DAY, 15, 30))

    assert day.checks is None
    assert not day.books_match
    assert text.splitlines()[0] == PAPER_PRICES
    assert "  Our books     not checked against the broker" in text
    assert "DIFF" not in text
    assert "GET /sim/state" not in text
    assert "Not checked against the broker" in html
    assert "DIFF" not in html
    assert "No index prices" in html


@pytest.mark.parametrize(
    ("mode", "recording", "first_line"),
    [
        ("live", None, "Prices: the live Dhan feed (live mode) — real prices, real fills at Dhan."),
        ("paper", None, PAPER_PRICES),
        ("sim", None, SIM_PRICES),
        ("sim", "/data/feed-20260916.rec", REPLAYED_PRICES),
    ],
)
def test_a_deployed_days_prices_are_named_by_its_mode(
    mode: str, recording: str | None, first_line: str
) -> None:
    assert DeployedDay(DAY, mode, "SARATHI_MODE", "db", recording).prices == first_line


# --- the command, end to end --------------------------------------------------------------------


def test_report_writes_the_days_files_and_prints_its_summary(
    two_days: str, no_environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SARATHI_MODE", "paper")
    out = no_environment / "reports"

    code = report("--day", "2026-09-16", "--database-url", two_days, "--out", str(out))

    said = capsys.readouterr()
    assert code == 0, said.err
    lines = said.out.splitlines()
    assert lines[0] == PAPER_PRICES
    assert lines[1].startswith("Sarathi — Wed 16 Sep 2026 in paper mode (from SARATHI_MODE), the books in ")
    assert "  Our books     not checked against the broker" in lines
    assert "  Trades        1: 1 won of 1 closed, win rate 100%" in lines
    html = out / "sarathi-day-2026-09-16-paper.html"
    trades = out / "sarathi-day-2026-09-16-paper-trades.json"
    assert f"Report: {html}" in lines
    assert f"Trades: {trades}" in lines
    assert "Not checked against the broker" in html.read_text(encoding="utf-8")
    document = json.loads(trades.read_text(encoding="utf-8"))
    assert (document["schema_version"], document["day"], document["seed"]) == (1, "2026-09-16", None)
    (trade,) = document["trades"]
    assert trade["contract"] == "NIFTY 24200 CE 22-Sep"
    assert (trade["entry_at"], trade["entry_price"]) == ("2026-09-16T10:01:02+05:30", "100.00")
    assert (trade["exit_at"], trade["exit_price"], trade["exit_reason"]) == (
        "2026-09-16T11:00:02+05:30", "120.00", "TRAILING"
    )  # fmt: skip
    assert (trade["gross"], trade["lots"]) == ("1300.00", 1)
    assert compare(document["trades"], document["trades"], exact=True).same  # what --compare reads


def test_report_takes_the_database_from_the_environment_and_says_when_the_mode_is_the_default(
    two_days: str, no_environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", two_days)

    code = report("--day", "2026-09-15", "--out", str(no_environment))

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == SIM_PRICES
    assert "(from SARATHI_MODE unset: sim, the default)" in lines[1]
    document = json.loads((no_environment / "sarathi-day-2026-09-15-sim-trades.json").read_text())
    assert [(t["contract"], t["lots"]) for t in document["trades"]] == [("NIFTY 24000 CE 15-Sep", 2)]


def test_report_reads_a_running_sarathi_up_systems_database_in_its_mode(
    two_days: str, no_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    postgres = runstate.Component(pid=os.getpid(), port=5432, url=two_days)
    runstate.save(runstate.RunState(pid=os.getpid(), mode="paper", ports={}, token="t",
                                    components={"postgres": postgres}))  # fmt: skip

    code = report("--day", "2026-09-16", "--out", str(no_environment))

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == PAPER_PRICES
    assert "(from the running `sarathi up` system)" in lines[1]


# --- refused, in one line, exit 2 ---------------------------------------------------------------


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line of `sarathi report argv`, which exits 2."""
    try:
        code = report(*argv)
    except SystemExit as stopped:  # argparse
        code = int(stopped.code or 0)
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == 2
    assert len(errors) == 1, errors
    return errors[0]


def test_report_needs_a_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert "the following arguments are required: --day" in refused(capsys)


def test_a_day_without_a_session_is_refused_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, "--day", "2026-09-19")
    assert "2026-09-19 is a Saturday: no trading session; the next trading day is 2026-09-21" in line


def test_a_day_with_no_books_is_refused(
    two_days: str, no_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused(capsys, "--day", "2026-09-17", "--database-url", two_days, "--out", str(no_environment))

    assert line.startswith("sarathi report: error: no books for 2026-09-17 in postgresql+psycopg://")
    assert not list(no_environment.glob("sarathi-day-*"))


def test_a_database_that_does_not_answer_is_refused_without_its_password(
    no_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"postgresql://sarathi:secret@127.0.0.1:{closed.getsockname()[1]}/sarathi"
        line = refused(capsys, "--day", "2026-09-16", "--database-url", url)

    assert line.startswith(
        "sarathi report: error: cannot read the books in postgresql+psycopg://sarathi:***@"
    )
    assert "secret" not in line


def test_a_database_without_sarathis_tables_is_refused(
    fresh_database_url: str, no_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused(capsys, "--day", "2026-09-16", "--database-url", fresh_database_url)

    assert line.startswith("sarathi report: error: cannot read the books in ")


def test_a_mode_that_is_not_one_is_refused(
    no_environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SARATHI_MODE", "demo")

    line = refused(capsys, "--day", "2026-09-16", "--database-url", "postgresql://127.0.0.1/none")

    assert line == "sarathi report: error: SARATHI_MODE 'demo' is not a mode: one of sim, paper, live"
