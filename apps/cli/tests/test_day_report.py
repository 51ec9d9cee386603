"""The day's report from our books and the broker's: trades, P&L, refusals, the checks, the HTML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sarathi.cli.books import (
    Books,
    ContractRecord,
    DecisionRecord,
    FillRecord,
    OrderRecord,
    SignalRecord,
    TrackerRecord,
)
from sarathi.cli.prices import sim_recording
from sarathi.cli.report import RunInfo, build_report, render_text
from sarathi.cli.report_html import Scale, axes, levels, render_html, words
from sarathi.common.domain.calendar import IST

DAY = date(2026, 9, 16)
OPEN = datetime(2026, 9, 16, 9, 15, tzinfo=IST)
CALL = ContractRecord("106290968", "NIFTY", date(2026, 9, 22), Decimal(24200), "CE", 65, "NIFTY-CE")
INFO = RunInfo(DAY, 7, Decimal(200), 110.0, 22_500.0)


def at(minutes: float) -> datetime:
    return OPEN + timedelta(minutes=minutes)


def an_order(cid: str, broker_id: str, side: str, qty: int, *, leg: str | None, price: str | None = None,
             status: str = "TRADED", command: str | None = None) -> OrderRecord:  # fmt: skip
    filled = qty if status == "TRADED" else 0
    return OrderRecord(cid, broker_id, command or cid, CALL.security_id, side, "MARKET", qty, status, leg,
                       filled, Decimal(price) if price else None, None, at(0))  # fmt: skip


def a_fill(order: OrderRecord, price: str, minutes: float) -> FillRecord:
    return FillRecord(order.client_order_id, order.broker_order_id, f"cum{order.quantity}", order.security_id,
                      order.side, order.quantity, Decimal(price), at(minutes))  # fmt: skip


def broker_order(order: OrderRecord, correlation: str) -> dict[str, Any]:
    return {"orderId": order.broker_order_id, "correlationId": correlation, "legName": order.leg_name or "NA",
            "orderStatus": order.status, "filledQty": order.filled_quantity}  # fmt: skip


def a_trailed_day() -> tuple[Books, dict[str, Any]]:
    """One Super Order entry at 100, trailed out at 120 by our exit; the legs cancelled."""
    entry = an_order("N1-E0", "59001", "BUY", 65, leg="ENTRY_LEG", price="100")
    stop = an_order(
        "N1-E0/STOP_LOSS", "59002", "SELL", 65, leg="STOP_LOSS_LEG", status="CANCELLED", command="N1-E0"
    )
    target = an_order(
        "N1-E0/TARGET", "59003", "SELL", 65, leg="TARGET_LEG", status="CANCELLED", command="N1-E0"
    )
    exit_ = an_order("xTR-N1-E0", "11004", "SELL", 65, leg="EXIT", price="120")
    fills = (a_fill(entry, "100", 10), a_fill(exit_, "120", 40))
    tracker = TrackerRecord("N1-E0", CALL.security_id, "NIFTY", "CLOSED", "TRAILING", at(10), at(40),
                            Decimal(1300), True, Decimal(1400))  # fmt: skip
    signals = (
        SignalRecord("NIFTY-a", "NIFTY", at(5), "BULLISH", "up"),
        SignalRecord("NIFTY-b", "NIFTY", at(10), "BULLISH", "up"),
        SignalRecord("NIFTY-c", "NIFTY", at(15), "NEUTRAL", "flat"),
    )
    decisions = (
        DecisionRecord("NIFTY-a", "NIFTY", "PLACED", None, "placed", "N1-E0", at(6)),
        DecisionRecord("NIFTY-b", "NIFTY", "REFUSED", "signal_age", "signal is 300s old", None, at(11)),
    )
    books = Books(
        (entry, stop, target, exit_), fills, (tracker,), signals, decisions, {CALL.security_id: CALL}
    )
    broker = {
        "orders": [broker_order(o, "N1-E0") for o in (entry, stop, target)]
        + [broker_order(exit_, "xTR-N1-E0")],
        "trades": [
            {"orderId": "59001", "tradedQuantity": 65, "tradedPrice": 100.0},
            {"orderId": "11004", "tradedQuantity": 65, "tradedPrice": 120.0},
        ],
        "positions": [
            {
                "securityId": CALL.security_id,
                "netQty": 0,
                "buyQty": 65,
                "sellQty": 65,
                "realizedProfit": 1300.0,
            }
        ],
    }
    return books, broker


def test_a_trailed_super_order_is_one_trade_with_its_reason_and_charges() -> None:
    books, broker = a_trailed_day()
    report = build_report(books, broker, INFO)
    (trade,) = report.trades
    assert (trade.contract, trade.lots, trade.entries) == ("NIFTY 24200 CE 22-Sep", 1, 1)
    assert (trade.entry_price, trade.exit_price, trade.exit_reason) == (
        Decimal(100),
        Decimal(120),
        "TRAILING",
    )
    assert trade.super_order_entry
    assert trade.gross == Decimal(1300)
    assert Decimal(0) < trade.charges < Decimal(100)
    assert report.net == Decimal(1300) - trade.charges
    assert report.win_rate == 1.0
    assert report.orders_sent == 2  # the entry and our exit; the legs are the broker's


def test_signals_seen_versus_acted_on_with_the_reasons_for_refusals() -> None:
    books, broker = a_trailed_day()
    s = build_report(books, broker, INFO).signals
    assert (s.bars_decided, s.signals, s.acted, s.undecided) == (3, 2, 1, 0)
    assert s.refused == {"signal_age": 1}
    assert "300s old" in s.refusal_examples["signal_age"]


def test_books_that_match_the_broker_pass_every_check() -> None:
    books, broker = a_trailed_day()
    report = build_report(books, broker, INFO)
    assert report.books_match, report.checks


def test_a_fill_the_broker_does_not_have_and_a_duplicate_order_are_reported() -> None:
    books, broker = a_trailed_day()
    broker["trades"].pop()  # the broker never saw our exit fill
    broker["orders"].append({**broker["orders"][-1], "orderId": "11005"})  # the exit sent twice
    checks = {c.name: c for c in build_report(books, broker, INFO).checks}
    assert not checks["fills"].ok
    assert "11004" in checks["fills"].detail
    assert not checks["no duplicate order"].ok
    assert not checks["orders"].ok  # 11005 is not in our books


def test_a_short_position_at_the_broker_fails_the_never_short_check() -> None:
    books, broker = a_trailed_day()
    broker["positions"][0] |= {"netQty": -65, "sellQty": 130}
    checks = {c.name: c for c in build_report(books, broker, INFO).checks}
    assert not checks["never short"].ok
    assert not checks["positions"].ok


def test_max_drawdown_is_the_largest_fall_from_a_peak_of_realised_net_pnl() -> None:
    books, broker = a_trailed_day()
    report = build_report(books, broker, INFO)
    assert report.max_drawdown == Decimal(0)  # one winning trade: no fall
    losing = replace(report, equity=((at(1), Decimal(500)), (at(2), Decimal(-200))))
    assert losing.max_drawdown == Decimal(700)


def test_the_text_report_names_trades_pnl_refusals_and_checks() -> None:
    books, broker = a_trailed_day()
    text = render_text(build_report(books, broker, INFO))
    assert "NIFTY 24200 CE 22-Sep" in text
    assert "trailing" in text
    assert "gross ₹1,300.00" in text
    assert "signal_age" in text
    assert re.search(r"ok\s+fills", text)


def test_the_html_report_is_self_contained_with_both_charts() -> None:
    books, broker = a_trailed_day()
    index = [(at(m), Decimal(24000) + m) for m in range(0, 376, 5)]
    report = build_report(books, broker, INFO, index)
    html = render_html(report, {"NIFTY": index}, OPEN, at(375))
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2  # the index with entries and exits, the equity curve
    for svg in svgs:
        ET.fromstring(svg)  # noqa: S314 - well-formed; our own output, not untrusted input
    assert "<title>buy NIFTY 24200 CE 22-Sep" in html
    assert "<title>sell NIFTY 24200 CE 22-Sep at 120.00 (trailing" in html
    assert "http" not in html.replace("http://www.w3.org", "")  # nothing fetched from elsewhere


def test_every_axis_label_fits_left_of_the_axis() -> None:
    """At 11 px a digit is at most ~0.6 em wide: a right-aligned y label needs that much room."""
    books, broker = a_trailed_day()
    index = [(at(m), Decimal(24000) + m) for m in range(0, 376, 5)]
    report = build_report(books, broker, INFO, index)
    html = render_html(report, {"NIFTY": index}, OPEN, at(375))
    labels = re.findall(
        r'<text class="axis" font-size="11" x="([\d.]+)" y="[\d.]+" text-anchor="end">([^<]+)<', html
    )
    assert labels, "no y-axis labels found"
    assert {text for _, text in labels} >= {"24,400"}  # the index's top level, five digits and a comma
    for x, text in labels:
        assert float(x) >= len(text) * 11 * 0.6, f"{text!r} at x={x} would be clipped"
    assert float(labels[0][0]) >= len("-13,515") * 11 * 0.6  # room for a loss in five figures too


# -- readable output (issue 15, item 4) -------------------------------------------------------------


def a_day_with_an_entry_that_never_filled() -> tuple[Books, dict[str, Any]]:
    """The trailed day, plus a LIMIT entry at 112.35 placed at 10:05 that the market ran away from
    and that was cancelled at 10:35."""
    books, broker = a_trailed_day()
    limit = replace(
        an_order("N3-E0", "59010", "BUY", 65, leg="ENTRY_LEG", status="CANCELLED"),
        order_type="LIMIT",
        price=Decimal("112.35"),
        created_at=at(50),
        updated_at=at(80),
    )
    books = replace(books, orders=(*books.orders, limit))
    broker["orders"].append(broker_order(limit, "N3-E0"))
    return books, broker


def test_the_text_report_puts_its_summary_before_the_trades() -> None:
    books, broker = a_trailed_day()
    text = render_text(build_report(books, broker, INFO))
    assert text.index("Summary") < text.index("net ₹1,") < text.index("Trades (1)")
    assert text.index("Our books     match the broker's") < text.index("Trades (1)")


def test_the_html_report_puts_its_summary_before_the_trades_and_the_charts() -> None:
    books, broker = a_trailed_day()
    index = [(at(m), Decimal(24000) + m) for m in range(0, 376, 5)]
    html = render_html(build_report(books, broker, INFO, index), {"NIFTY": index}, OPEN, at(375))
    assert html.index("<h2>Summary</h2>") < html.index("<h2>Trades (1)</h2>") < html.index("<svg")
    assert html.index("P&amp;L net") < html.index("<h2>Trades (1)</h2>")


def test_an_entry_that_never_filled_is_explained_with_its_reason() -> None:
    books, broker = a_day_with_an_entry_that_never_filled()
    report = build_report(books, broker, INFO)
    (unfilled,) = report.unfilled_entries
    assert (unfilled.client_order_id, unfilled.order_type, unfilled.price) == (
        "N3-E0",
        "LIMIT",
        Decimal("112.35"),
    )
    assert unfilled.why == "cancelled at 10:35:00 before the market reached its limit ₹112.35"
    text = render_text(report)
    assert "Never filled (1): entry orders the broker accepted that never traded. A LIMIT" in text
    assert "expires at the close. No position, no charges." in text
    assert (
        "NIFTY 24200 CE 22-Sep      LIMIT buy 65 at 112.35, placed 10:05:00 (N3-E0): cancelled at 10:35:00"
        in text
    )
    html = render_html(report, {}, OPEN, at(375))
    assert "<h2>Never filled (1)</h2><p>entry orders the broker accepted that never traded." in html
    assert "cancelled at 10:35:00 before the market reached its limit ₹112.35" in html


def test_a_resting_entry_at_the_close_says_it_was_still_resting() -> None:
    books, broker = a_day_with_an_entry_that_never_filled()
    resting = replace(books.orders[-1], status="PENDING")
    report = build_report(replace(books, orders=(*books.orders[:-1], resting)), broker, INFO)
    assert report.unfilled_entries[0].why == (
        "still resting at the broker when the day ended (PENDING): never reached its limit ₹112.35"
    )


def test_contract_names_never_wrap_in_the_html_tables() -> None:
    books, broker = a_trailed_day()
    html = render_html(build_report(books, broker, INFO), {}, OPEN, at(375))
    cells = re.findall(r'<td class="contract">([^<]*)</td>', html)
    assert cells == ["NIFTY\u00a024200\u00a0CE\u00a022-Sep"]
    assert ".contract{white-space:nowrap}" in html


def test_the_never_filled_table_keeps_contract_names_on_one_line_too() -> None:
    books, broker = a_day_with_an_entry_that_never_filled()
    html = render_html(build_report(books, broker, INFO), {}, OPEN, at(375))
    name = "NIFTY\u00a024200\u00a0CE\u00a022-Sep"
    assert re.findall(r'<td class="contract">([^<]*)</td>', html) == [name, name]


def test_contract_names_sit_in_a_fixed_width_column_of_the_text_tables() -> None:
    books, broker = a_trailed_day()
    lines = render_text(build_report(books, broker, INFO)).splitlines()
    header = next(line for line in lines if line.startswith("contract"))
    row = next(line for line in lines if line.startswith("NIFTY 24200 CE 22-Sep"))
    width = len("BANKNIFTY 55000 CE 22-Sep")  # the longest name a day can have
    assert header[width:].startswith("  lots")
    assert row[:width] == "NIFTY 24200 CE 22-Sep".ljust(width)
    assert row[width : width + 6] == "     1"  # the lots, right-aligned under their header


def test_trades_json_is_a_versioned_object_with_ist_times() -> None:
    from sarathi.cli.day_files import trades_json

    books, broker = a_trailed_day()
    document = trades_json(build_report(books, broker, INFO))
    assert (document["schema_version"], document["day"], document["seed"]) == (1, "2026-09-16", 7)
    (trade,) = document["trades"]
    assert trade["entry_at"] == "2026-09-16T09:25:00+05:30"
    assert trade["exit_at"] == "2026-09-16T09:55:00+05:30"
    assert (trade["contract"], trade["gross"], trade["exit_reason"]) == (
        "NIFTY 24200 CE 22-Sep",
        "1300.00",
        "TRAILING",
    )
    assert Decimal(trade["net"]) == Decimal(trade["gross"]) - Decimal(trade["charges"])


def test_the_text_report_opens_with_prices_from_the_synthetic_sim_market() -> None:
    books, broker = a_trailed_day()
    first = render_text(build_report(books, broker, INFO)).splitlines()[0]

    assert first == (
        "Prices: the synthetic `sim` market (seed 7) — a synthetic market says nothing about real "
        "profitability."
    )


def test_the_html_report_opens_with_prices_from_the_synthetic_sim_market() -> None:
    books, broker = a_trailed_day()
    html = render_html(build_report(books, broker, INFO), {}, OPEN, at(375))

    body = html.split("<body>", 1)[1]
    assert body.startswith('<p class="prices">Prices: the synthetic `sim` market (seed 7) — a synthetic')


def test_a_replayed_day_says_its_prices_came_from_the_recording() -> None:
    books, broker = a_trailed_day()
    report = build_report(books, broker, replace(INFO, recording="/data/feed-2026-09-16.jsonl.gz"))

    line = (
        "Prices: a recording of the market feed, played back (feed-2026-09-16.jsonl.gz) — real prices, "
        "simulated fills."
    )
    assert render_text(report).splitlines()[0] == line
    assert (
        render_html(report, {}, OPEN, at(375))
        .split("<body>", 1)[1]
        .startswith(f'<p class="prices">{line}</p>')
    )


def test_the_day_knows_its_recording_from_the_environment_the_sim_is_given() -> None:
    replay = {"SARATHI_SIM_REPLAY_FILE": "/data/a.jsonl"}

    assert sim_recording({}, environ=replay) == "/data/a.jsonl"  # the shell's, passed on by the supervisor
    assert sim_recording({"SARATHI_SIM_REPLAY_FILE": "/data/b.jsonl"}, environ=replay) == "/data/b.jsonl"
    assert sim_recording({"SARATHI_SIM_SEED": "7"}, environ={}) is None


# -- what a trader sees in a browser ----------------------------------------------------------------


def a_rendered_trailed_day() -> str:
    books, broker = a_trailed_day()
    index = [(at(m), Decimal(24000) + m) for m in range(0, 376, 5)]
    return render_html(build_report(books, broker, INFO, index), {"NIFTY": index}, OPEN, at(375))


def y_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]+)<', svg)


def test_y_axis_levels_are_round_numbers_within_the_range() -> None:
    assert levels(23_970, 24_405) == [24_000, 24_100, 24_200, 24_300, 24_400]
    assert levels(-4_789, 355) == [-4_000, -2_000, 0]  # a P&L chart: ₹0 is one of them
    assert levels(51_341, 52_474) == [51_500, 51_750, 52_000, 52_250]
    assert levels(-1, 1) == [-1, 0, 1]  # a flat curve: whole rupees, never fractions


def test_y_levels_are_grouped_as_the_pages_rupees_are() -> None:
    scale = Scale([OPEN, at(375)], [Decimal(-210_000), Decimal(10_000)])
    assert y_labels(axes(scale, [])) == ["-2,00,000", "-1,00,000", "0"]


def test_the_equity_chart_is_read_against_round_levels_and_zero() -> None:
    html = a_rendered_trailed_day()
    equity = re.findall(r"<svg.*?</svg>", html, flags=re.S)[-1]

    labels = [int(text.replace(",", "")) for text in y_labels(equity)]
    assert 0 in labels
    assert len(labels) >= 3
    assert all(level % 100 == 0 for level in labels), labels
    assert equity.count('stroke="#eaeaea"') == len(labels)  # a faint grid line at each level


def test_money_in_the_trades_table_is_signed_in_rupees_and_coloured() -> None:
    books, broker = a_trailed_day()
    report = build_report(books, broker, INFO)
    html = render_html(report, {}, OPEN, at(375))

    (trade,) = report.trades
    assert '<td class="r gain">+₹1,300.00</td>' in html  # gross
    assert f'<td class="r">₹{trade.charges:,.2f}</td>' in html
    assert f'<td class="r gain">+₹{trade.net:,.2f}</td>' in html
    assert f'<span class="n">+₹{report.net:,.2f}</span>' in html  # the summary's, kept on one line


def test_the_signals_table_gives_counts_as_numbers_and_examples_as_words() -> None:
    html = a_rendered_trailed_day()

    row = '<tr><td class="n">refused: signal_age</td><td class="r">1</td><td>signal is 300s old'
    assert row in html


def test_the_books_checks_write_rupees_as_a_trader_reads_them() -> None:
    books, broker = a_trailed_day()
    (pnl,) = [c for c in build_report(books, broker, INFO).checks if c.name == "realised P&L"]

    assert pnl.detail == "realised gross ₹1,300.00 (broker ₹1,300.00)"


def test_a_signed_amount_in_wrapping_text_stays_on_one_line() -> None:
    assert words("realised gross -₹4,296.25 (broker -₹4,296.25) & limit ₹112.35") == (
        'realised gross <span class="n">-₹4,296.25</span> (broker <span class="n">-₹4,296.25</span>) '
        "&amp; limit ₹112.35"
    )


def test_the_day_fits_a_phone_wide_tables_and_charts_scroll_in_their_own_box() -> None:
    html = a_rendered_trailed_day()

    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in html
    assert html.count('<div class="scroll"><table>') == html.count("<table>")
    assert html.count('<div class="scroll"><svg') == html.count("<svg") == 2
    assert ".scroll{overflow-x:auto" in html
