"""The backtest's report: statistics with known answers, the edge cases, the HTML, the CSV."""

from __future__ import annotations

import csv
import math
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sarathi.cli.backtest_html import render_backtest_html
from sarathi.cli.backtest_report import (
    DocumentError,
    Drawdown,
    read_document,
    statistics,
    write_report,
)
from sarathi.common.domain.calendar import IST

MON, TUE, WED, THU, FRI = (date(2026, 1, 5) + timedelta(days=i) for i in range(5))


def a_trade(day: date, net: str, *, underlying: str = "NIFTY", reason: str = "TARGET", at: int = 10,
            charges: str = "40.00") -> dict[str, Any]:  # fmt: skip
    """A trade entered at `at`:00 IST on `day` and closed 30 minutes later."""
    entry = datetime.combine(day, time(at, 0), IST)
    gross = Decimal(net) + Decimal(charges)
    return {
        "contract": f"{underlying} 24200 CE 13-Jan", "underlying": underlying, "security_id": "4242",
        "lots": 1, "quantity": 65, "entries": 1, "entry_at": entry.isoformat(), "entry_price": "100.00",
        "exit_at": (entry + timedelta(minutes=30)).isoformat(), "exit_price": "110.00",
        "exit_reason": reason, "gross": f"{gross:.2f}", "charges": charges, "net": net,
    }  # fmt: skip


def a_document(trades: list[dict[str, Any]], days: list[date], *, source: str = "sim-seed7",
               limit: str | None = "500.00", capital: str | None = "100000.00",
               ) -> dict[str, Any]:  # fmt: skip
    """The engine's document: each listed day summed from the trades entered on it."""
    rows = []
    for day in days:
        mine = [t for t in trades if t["entry_at"].startswith(day.isoformat())]
        net = sum((Decimal(t["net"]) for t in mine), Decimal(0))
        charges = sum((Decimal(t["charges"]) for t in mine), Decimal(0))
        rows.append({"day": day.isoformat(), "net": f"{net:.2f}", "gross": f"{net + charges:.2f}",
                     "charges": f"{charges:.2f}", "trades": len(mine)})  # fmt: skip
    document: dict[str, Any] = {
        "schema_version": 1, "source": source, "from": days[0].isoformat(), "to": days[-1].isoformat(),
        "underlyings": ["NIFTY", "BANKNIFTY", "SENSEX"], "trades": trades, "days": rows,
    }  # fmt: skip
    if limit is not None:
        document["daily_loss_limit_inr"] = limit
    if capital is not None:
        document["capital_inr"] = capital
    return document


def a_week() -> dict[str, Any]:
    """Five days, six trades of ₹40 charges each; the day nets are 600, -500, 0, -500, 900."""
    return a_document(
        [
            a_trade(MON, "1000.00", at=9),
            a_trade(MON, "-400.00", underlying="BANKNIFTY", reason="STOP_LOSS", at=11),
            a_trade(TUE, "-500.00", reason="STOP_LOSS"),
            a_trade(THU, "-300.00", reason="STOP_LOSS", at=10),
            a_trade(THU, "-200.00", underlying="SENSEX", reason="SQUARE_OFF", at=14),
            a_trade(FRI, "900.00", reason="TRAILING"),
        ],
        [MON, TUE, WED, THU, FRI],
    )


def test_a_week_of_trades_gives_the_statistics_worked_out_by_hand() -> None:
    stats = statistics(read_document(a_week()))

    assert (stats.net, stats.gross, stats.charges) == (
        Decimal("500.00"),
        Decimal("740.00"),
        Decimal("240.00"),
    )
    assert (stats.trades, stats.closed, stats.won, stats.lost) == (6, 6, 2, 4)
    assert stats.win_rate == Decimal(2) / 6
    # won 1000 + 900 = 1900; lost 400 + 500 + 300 + 200 = 1400
    assert stats.profit_factor == Decimal(1900) / Decimal(1400)
    assert stats.expectancy == Decimal("83.33")  # 500 / 6
    # equity 600, 100, 100, -400, 500: from 600 (Mon) to -400 (Thu)
    assert stats.max_drawdown == Drawdown(Decimal("1000.00"), MON, THU)
    # mean 100; sample variance (500² + 600² + 100² + 600² + 800²) / 4 = 405,000
    assert stats.sharpe == pytest.approx(100 / math.sqrt(405_000) * math.sqrt(252))  # 2.4944
    # downside (500² + 500²) / 5 = 100,000
    assert stats.sortino == pytest.approx(100 / math.sqrt(100_000) * math.sqrt(252))  # 5.0200
    # by exit time: won, lost ×4, won; Wednesday (no trade, net 0) parts Tuesday's and Thursday's losses
    assert (stats.losing_streak_trades, stats.losing_streak_days) == (4, 1)
    assert stats.worst_day is not None
    assert (stats.worst_day.day, stats.worst_day.net) == (TUE, Decimal("-500.00"))
    assert stats.days_at_limit == (TUE, THU)  # -500 each, the limit ₹500


def test_a_week_is_grouped_by_underlying_exit_reason_and_month() -> None:
    stats = statistics(read_document(a_week()))

    by_underlying = {g.name: (g.trades, g.won, g.net) for g in stats.by_underlying}
    assert by_underlying == {
        "NIFTY": (4, 2, Decimal("1100.00")),
        "BANKNIFTY": (1, 0, Decimal("-400.00")),
        "SENSEX": (1, 0, Decimal("-200.00")),
    }
    by_reason = {g.name: (g.trades, g.net, g.charges) for g in stats.by_exit_reason}
    assert by_reason["STOP_LOSS"] == (3, Decimal("-1200.00"), Decimal("120.00"))
    assert by_reason["TARGET"] == (1, Decimal("1000.00"), Decimal("40.00"))
    [month] = stats.by_month
    assert (month.month, month.days, month.trades, month.won) == (date(2026, 1, 1), 5, 6, 2)
    assert (month.net, month.charges, month.worst_day) == (
        Decimal("500.00"),
        Decimal("240.00"),
        Decimal("-500.00"),
    )


def test_no_trades_gives_zeros_and_no_ratios() -> None:
    stats = statistics(read_document(a_document([], [MON, TUE])))

    assert (stats.net, stats.trades, stats.losing_streak_trades, stats.losing_streak_days) == (0, 0, 0, 0)
    assert (stats.win_rate, stats.profit_factor, stats.expectancy) == (None, None, None)
    assert stats.max_drawdown == Drawdown(Decimal(0), None, None)
    assert (stats.sharpe, stats.sortino) == (None, None)  # no variance; no losing day
    assert stats.days_at_limit == ()


def test_all_wins_have_no_profit_factor_and_no_sortino() -> None:
    stats = statistics(
        read_document(a_document([a_trade(MON, "100.00"), a_trade(TUE, "300.00")], [MON, TUE]))
    )

    assert (stats.win_rate, stats.profit_factor) == (Decimal(1), None)  # shown as ∞
    assert stats.sortino is None  # no losing day
    # mean 200, sample sd √((100² + 100²) / 1) = 141.42
    assert stats.sharpe == pytest.approx(200 / math.sqrt(20_000) * math.sqrt(252))
    assert stats.max_drawdown.amount == 0


def test_all_losses_have_a_zero_profit_factor_and_a_drawdown_from_the_start() -> None:
    document = a_document([a_trade(MON, "-100.00"), a_trade(TUE, "-300.00")], [MON, TUE])
    stats = statistics(read_document(document))

    assert (stats.win_rate, stats.profit_factor, stats.expectancy) == (0, 0, Decimal("-200.00"))
    assert stats.max_drawdown == Drawdown(Decimal("400.00"), None, TUE)  # from E₀ = 0
    # mean -200; downside √((100² + 300²) / 2) = 223.61
    assert stats.sortino == pytest.approx(-200 / math.sqrt(50_000) * math.sqrt(252))
    assert (stats.losing_streak_trades, stats.losing_streak_days) == (2, 2)


def test_one_day_has_no_sharpe() -> None:
    stats = statistics(read_document(a_document([a_trade(MON, "250.00")], [MON])))

    assert (stats.net, stats.expectancy, stats.sharpe, stats.sortino) == (250, Decimal("250.00"), None, None)


def test_the_html_has_every_section_and_is_self_contained() -> None:
    backtest = read_document(a_week())
    html = render_backtest_html(backtest, statistics(backtest))

    for section in ("Summary", "Equity curve and drawdown", "Daily P&amp;L", "Months", "Underlyings",
                    "Exit reasons", "Trades (6)"):  # fmt: skip
        assert f"<h2>{section}</h2>" in html
    worst = "-₹500.00 on 2026-01-06: 100.0% of the daily loss limit ₹500.00"
    text = re.sub(r"<[^>]+>", "", html)  # an amount may sit in a span that keeps it on one line
    for figure in ("₹500.00", "₹240.00", "33.3%", "1.36", "₹83.33", "₹1,000.00", "2.49", "5.02",
                   "4 trades, 1 day", worst):  # fmt: skip
        assert figure in text
    assert not re.search(r"https?://", html)
    assert "<script" not in html
    assert "<link" not in html
    assert html.count("<svg") == 2  # the equity curve and the drawdown


def test_the_calendar_has_one_coloured_cell_per_trading_day() -> None:
    backtest = read_document(a_week())
    html = render_backtest_html(backtest, statistics(backtest))

    cells = dict(re.findall(r'data-day="([\d-]+)" data-net="(-?[\d.]+)"', html))
    assert cells == {"2026-01-05": "600.00", "2026-01-06": "-500.00", "2026-01-07": "0.00",
                     "2026-01-08": "-500.00", "2026-01-09": "900.00"}  # fmt: skip
    assert re.search(r'data-day="2026-01-09"[^>]*background:rgba\(26,127,55,0\.90\)', html)  # the best: green
    assert re.search(r'data-day="2026-01-06"[^>]*background:rgba\(207,34,46,0\.90\)', html)  # the worst: red
    assert re.search(r'data-day="2026-01-05"[^>]*background:rgba\(26,127,55,0\.65\)', html)  # 600 of 900
    assert "<caption>Jan 2026</caption>" in html


def test_the_first_line_of_a_synthetic_backtest_says_it_says_nothing_about_real_profitability() -> None:
    backtest = read_document(a_week())
    html = render_backtest_html(backtest, statistics(backtest))

    first = html.split("<body>", 1)[1]
    assert first.startswith('<p class="prices">Prices: the synthetic `sim` market (sim-seed7, 2026-01-05 to ')
    assert "a synthetic market says nothing about real profitability." in first.split("</p>")[0]


def test_the_first_line_of_a_backtest_on_dhan_history_says_so() -> None:
    backtest = read_document(a_document([a_trade(MON, "100.00")], [MON], source="dhan"))

    assert (
        backtest.prices == "Prices: Dhan's history (2026-01-05 to 2026-01-05) — real prices, simulated fills."
    )


def test_write_report_writes_html_csv_and_json_and_the_csv_reads_back(tmp_path: Path) -> None:
    document = a_week()
    paths = write_report(document, tmp_path / "reports")

    assert paths.html.name == "sarathi-backtest-sim-seed7-2026-01-05-2026-01-09.html"
    assert paths.html.read_text(encoding="utf-8").startswith("<!doctype html>")
    with paths.csv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{k: "" if v is None else str(v) for k, v in t.items()} for t in document["trades"]]
    assert paths.json.read_text(encoding="utf-8").count('"exit_reason"') == 6


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (lambda d: d["trades"][0].update(net=12.5), "trades[0].net"),
        (lambda d: d["trades"][0].update(net="12.50"), "trades[0].net: 12.50 is not gross"),
        (lambda d: d["trades"][0].update(entry_at="2026-01-05T09:00:00"), "trades[0].entry_at"),
        (lambda d: d["days"][2].update(trades=1), "days 2026-01-07"),
        (lambda d: d.update(source="yahoo"), "source: unknown price source 'yahoo'"),
        (lambda d: d["days"].pop(0), "a trade entered on 2026-01-05, a day not in days"),
    ],
)
def test_a_wrong_document_is_refused_by_name_and_nothing_is_written(
    tmp_path: Path, change: Any, names: str
) -> None:
    document = a_week()
    change(document)

    with pytest.raises(DocumentError, match=re.escape(names)):
        write_report(document, tmp_path / "reports")
    assert not (tmp_path / "reports").exists()


def test_the_calendar_has_a_legend_from_the_worst_day_to_the_best() -> None:
    backtest = read_document(a_week())  # the days net 600, -500, 0, -500, 900
    html = render_backtest_html(backtest, statistics(backtest))

    legend = html.split('<div class="legend">', 1)[1].split("</div>", 1)[0]
    ramp = (
        '<span class="n">worst day -₹500.00</span><span class="ramp"></span><span class="n">best day +₹900.00'
    )
    assert ramp in legend
    for words in ("₹0 or no trade", "weekend", "holiday, no session", "outside the backtest"):
        assert words in legend


def test_the_calendar_tells_weekends_holidays_and_days_outside_the_range_apart() -> None:
    fri, tue = date(2026, 1, 23), date(2026, 1, 27)  # Monday 26 January 2026: Republic Day
    backtest = read_document(a_document([a_trade(fri, "100.00"), a_trade(tue, "-50.00")], [fri, tue]))
    html = render_backtest_html(backtest, statistics(backtest))

    def cell(day: int) -> str:
        [found] = re.findall(rf'<td class="([a-z]+)"[^>]*title="[^"]* {day:02} Jan 2026[^"]*"', html)
        return str(found)

    assert [cell(d) for d in (22, 23, 24, 25, 26, 27, 28)] == [
        "outside", "day", "weekend", "weekend", "holiday", "day", "outside",
    ]  # fmt: skip
    assert 'title="Mon 26 Jan 2026: holiday, Republic Day">26</td>' in html
    assert html.count("<caption>Jan 2026</caption>") == 1
    assert "<th>Mo</th><th>Tu</th><th>We</th><th>Th</th><th>Fr</th><th>Sa</th><th>Su</th>" in html


def test_money_in_the_backtest_tables_is_signed_in_rupees_and_coloured() -> None:
    backtest = read_document(a_week())
    html = render_backtest_html(backtest, statistics(backtest))

    # the month: net +500, charges 240, worst day -500
    assert (
        '<td class="r gain">+₹500.00</td><td class="r">₹240.00</td><td class="r loss">-₹500.00</td>' in html
    )
    # a trade entered at 09:00 and out at 09:30 the same day: the exit says only its time
    assert '<td class="r">05 Jan 09:00</td><td class="r">100.00</td><td class="r">09:30</td>' in html
    assert '<span class="n">+₹500.00</span> (0.5% of capital)' in html  # the summary's net P&L


def test_the_backtest_fits_a_phone_wide_tables_and_charts_scroll_in_their_own_box() -> None:
    backtest = read_document(a_week())
    html = render_backtest_html(backtest, statistics(backtest))

    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in html
    assert html.count('<div class="scroll"><table>') == html.count("<table>")  # the months' are class="month"
    assert html.count('<div class="scroll"><svg') == 2
