"""A backtest's report as one self-contained HTML page: inline SVG and CSS, no script, no download.

First where the prices came from, then the summary (the statistics of `backtest_report`), the
equity curve and its drawdown, the daily P&L as a calendar (a cell per trading day, coloured by
its net: a loss against the worst day's, a gain against the best day's, with a legend; weekends
grey, holidays hatched and named, days outside the range faint), the months, the underlyings, the
exit reasons, the trades.
The page, style, chart scale and axes and tables are the day's report's (`report_html`).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html import escape

from sarathi.cli.backtest_report import Backtest, Day, Group, Statistics
from sarathi.cli.report import REASON_WORDS
from sarathi.cli.report_html import (
    STYLE,
    Pnl,
    Scale,
    axes,
    chart,
    html_table,
    page,
    prices_paragraph,
    signed_inr,
    trades_table,
    zero_line,
)
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.holidays import NSE_BSE_HOLIDAYS, CalendarCoverageError
from sarathi.common.domain.instruments import Exchange
from sarathi.common.domain.money import format_inr

GAIN, LOSS = "26,127,55", "207,34,46"  # the cells' green and red, as rgb()
CALENDAR_STYLE = f"""
.months{{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}}
.month td,.month th{{width:1.7rem;height:1.5rem;padding:0;text-align:center;border:1px solid #fff;
  font-size:11px;white-space:nowrap}}
.month caption{{font-weight:600;text-align:left}}
.day{{color:#222;outline:1px solid #ddd;outline-offset:-1px}}
.weekend{{background:#ececec;color:#999}}
.holiday{{background:repeating-linear-gradient(135deg,#e2e2e2 0 3px,#fff 3px 6px);color:#777}}
.outside{{color:#ccc}}
.legend{{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem 1rem;margin:.6rem 0;font-size:12px}}
.legend .swatch{{display:inline-block;width:1.7rem;line-height:1.5rem;text-align:center;font-size:11px;
  vertical-align:middle;margin-right:.3rem}}
.legend .ramp{{display:inline-block;width:9rem;height:1.5rem;vertical-align:middle;margin:0 .3rem;
  background:linear-gradient(to right,rgba({LOSS},.9),rgba({LOSS},.15) 49%,#fff 50%,
  rgba({GAIN},.15) 51%,rgba({GAIN},.9))}}
"""
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")  # a special session can fall on a weekend


def render_backtest_html(backtest: Backtest, stats: Statistics) -> str:
    title = f"Sarathi — backtest {backtest.first:%d %b %Y} to {backtest.last:%d %b %Y}"
    return page(
        title,
        STYLE + CALENDAR_STYLE,
        f"{prices_paragraph(backtest.prices)}<h1>{escape(title)}</h1>"
        f"<p>{len(backtest.days)} trading days; {escape(', '.join(backtest.underlyings))}.</p>"
        f"<h2>Summary</h2>{_summary(backtest, stats)}"
        f"<h2>Equity curve and drawdown</h2>{equity_chart(stats)}{drawdown_chart(stats)}"
        f"<h2>Daily P&amp;L</h2>{heatmap(backtest.days, backtest.first, backtest.last)}"
        f"<h2>Months</h2>{_months(stats)}"
        f"<h2>Underlyings</h2>{_groups(stats.by_underlying, 'underlying', lambda n: n)}"
        f"<h2>Exit reasons</h2>{_groups(stats.by_exit_reason, 'exit reason', _reason)}"
        f"<h2>Trades ({stats.trades})</h2>{trades_table(backtest.trades, _when, _exit_when)}",
    )


def _summary(backtest: Backtest, s: Statistics) -> str:
    capital, limit = backtest.capital, backtest.daily_loss_limit
    dd = s.max_drawdown
    drawdown = format_inr(dd.amount)
    if dd.amount:
        drawdown += f" ({dd.peak or 'the start'} to {dd.trough})"
        if capital:
            drawdown += f", {_percent(dd.amount / capital)} of capital"
    worst = "-"
    if s.worst_day is not None:
        worst = f"{signed_inr(s.worst_day.net)} on {s.worst_day.day}"
        if limit:
            worst += f": {_percent(-s.worst_day.net / limit)} of the daily loss limit {format_inr(limit)}"
    rows: list[list[object]] = [
        ["net P&L", signed_inr(s.net) + (f" ({_percent(s.net / capital)} of capital)" if capital else "")],
        ["gross P&L", signed_inr(s.gross)],
        ["charges paid", format_inr(s.charges)],
        ["trades", f"{s.trades} ({s.closed} closed: {s.won} won, {s.lost} lost)"],
        ["win rate", "-" if s.win_rate is None else _percent(s.win_rate)],
        ["profit factor", _profit_factor(s)],
        ["expectancy per trade", "-" if s.expectancy is None else signed_inr(s.expectancy)],
        ["max drawdown (daily, net)", drawdown],
        ["Sharpe (daily, √252)", _ratio(s.sharpe, "no variance")],
        ["Sortino (daily, √252)", _ratio(s.sortino, "no losing day")],
        [
            "longest losing streak",
            f"{_count(s.losing_streak_trades, 'trade')}, {_count(s.losing_streak_days, 'day')}",
        ],
        ["worst day", worst],
    ]
    if limit:
        at = ", ".join(str(d) for d in s.days_at_limit) or "none"
        rows.append([f"days losing {format_inr(limit)} or more", at])
    if capital:
        rows.append(["capital", format_inr(capital)])
    return html_table(rows, ("", ""), "lw")


def _profit_factor(s: Statistics) -> str:
    if s.profit_factor is not None:
        return f"{s.profit_factor:.2f}"
    return "∞ (no losing trade)" if s.won else "-"


def _ratio(value: float | None, why_none: str) -> str:
    return f"{value:.2f}" if value is not None else f"- ({why_none})"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _percent(fraction: Decimal) -> str:
    return f"{fraction * 100:.1f}%"


def _reason(code: str) -> str:
    return REASON_WORDS.get(code, code)


def _clock(at: datetime) -> str:
    """`09:20`: the backtest fills on minute bars; seconds only when there are any."""
    return at.astimezone(IST).strftime("%H:%M" if at.second == 0 else "%H:%M:%S")


def _when(at: datetime) -> str:
    return f"{at.astimezone(IST):%d %b} {_clock(at)}"


def _exit_when(exit_at: datetime, entry_at: datetime) -> str:
    """The exit's time, and its day only when that is not the entry's (the table stays narrow)."""
    same_day = exit_at.astimezone(IST).date() == entry_at.astimezone(IST).date()
    return _clock(exit_at) if same_day else _when(exit_at)


def _groups(groups: Sequence[Group], head: str, words: Callable[[str], str]) -> str:
    if not groups:
        return "<p>No closed trades.</p>"
    rows = [
        [
            words(g.name),
            g.trades,
            g.won,
            "-" if g.win_rate is None else _percent(g.win_rate),
            Pnl(g.gross),
            format_inr(g.charges),
            Pnl(g.net),
        ]
        for g in groups
    ]
    return html_table(rows, (head, "trades", "won", "win rate", "gross", "charges", "net"), "n")


def _months(s: Statistics) -> str:
    rows = [
        [
            f"{m.month:%b %Y}",
            m.days,
            m.trades,
            m.won,
            Pnl(m.net),
            format_inr(m.charges),
            Pnl(m.worst_day),
        ]
        for m in s.by_month
    ]
    return html_table(rows, ("month", "days", "trades", "won", "net", "charges", "worst day"), "n")


# -- charts -----------------------------------------------------------------------------------------


def _close(day: date) -> datetime:
    """Where a day's equity sits on the time axis: the end of its date."""
    return datetime.combine(day + timedelta(days=1), time(0), IST)


def date_ticks(days: Sequence[date]) -> list[tuple[datetime, str]]:
    """The first trading day of each month (at most about twelve labels), or each day of a short range."""
    if len(days) <= 10:
        return [(_close(d), f"{d:%d %b}") for d in days]
    firsts = [d for i, d in enumerate(days) if i == 0 or d.month != days[i - 1].month]
    step = max(1, math.ceil(len(firsts) / 12))
    return [(_close(d), f"{d:%b %Y}") for d in firsts[::step]]


def _curve(stats: Statistics, values: Sequence[Decimal], colour: str, title: str, fill: bool) -> str:
    if not stats.equity:
        return "<p>No trading days.</p>"
    days = [d for d, _ in stats.equity]
    start = datetime.combine(days[0], time(0), IST)  # E₀ = 0 before the first day
    points = [(start, Decimal(0)), *((_close(d), v) for d, v in zip(days, values, strict=True))]
    scale = Scale([t for t, _ in points], [v for _, v in points])
    line = " ".join(f"{scale.x(t):.1f},{scale.y(v):.1f}" for t, v in points)
    zero = scale.y(0)
    shape = (
        f'<polygon fill="{colour}" fill-opacity=".25" stroke="{colour}" '
        f'points="{scale.x(points[0][0]):.1f},{zero:.1f} {line} {scale.x(points[-1][0]):.1f},{zero:.1f}"/>'
        if fill
        else f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{line}"/>'
    )
    return chart(title, title, f"{axes(scale, date_ticks(days))}{zero_line(scale)}{shape}")


def equity_chart(stats: Statistics) -> str:
    values = [v for _, v in stats.equity]
    return _curve(stats, values, "#8250df", "Equity: cumulative net P&L after each day (₹)", fill=False)


def drawdown_chart(stats: Statistics) -> str:
    peak, below = Decimal(0), []
    for _, value in stats.equity:
        peak = max(peak, value)
        below.append(value - peak)
    return _curve(stats, below, "#cf222e", "Drawdown: below the highest equity so far (₹)", fill=True)


def heatmap(days: Sequence[Day], first: date, last: date) -> str:
    """A month a table, a week a row, a trading day a cell coloured by its net P&L, and the legend.

    Between `first` and `last` a weekday without a session is a holiday (named when the holiday
    table knows it); days outside the range are faint.
    """
    if not days:
        return "<p>No trading days.</p>"
    by_day = {d.day: d for d in days}
    worst, best = min(d.net for d in days), max(d.net for d in days)
    months = sorted({d.day.replace(day=1) for d in days})
    head = "".join(f"<th>{w}</th>" for w in WEEKDAYS)
    tables = []
    for month in months:
        rows = []
        for week in calendar.Calendar().monthdatescalendar(month.year, month.month):
            cells = [
                "<td></td>"
                if d.month != month.month
                else _day_cell(by_day[d], worst, best)
                if d in by_day
                else _idle_cell(d, first, last)
                for d in week
            ]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(
            f'<table class="month"><caption>{month:%b %Y}</caption><tr>{head}</tr>{"".join(rows)}</table>'
        )
    return f'<div class="months">{"".join(tables)}</div>{_legend(worst, best)}'


def _day_cell(day: Day, worst: Decimal, best: Decimal) -> str:
    """A trading day. Gains and losses each have their own scale (the best day, the worst day): a
    day's loss is capped by the daily loss limit, a gain is not, and would wash every loss out."""
    style = "background:#fff"
    if day.net:
        colour, end = (GAIN, best) if day.net > 0 else (LOSS, worst)
        alpha = 0.15 + 0.75 * float(day.net / end)  # a colour, not money
        style = f"background:rgba({colour},{alpha:.2f})" + (";color:#fff" if alpha > 0.6 else "")
    tip = f"{day.day:%a %d %b %Y}: net {signed_inr(day.net)}, {day.trades} trade(s)"
    return (
        f'<td class="day" data-day="{day.day}" data-net="{day.net}" style="{style}" '
        f'title="{escape(tip)}">{day.day.day}</td>'
    )


def _idle_cell(day: date, first: date, last: date) -> str:
    """A day without a session: outside the range, a weekend, or a holiday."""
    if not first <= day <= last:
        return f'<td class="outside" title="{day:%a %d %b %Y}: outside the backtest">{day.day}</td>'
    if day.weekday() >= 5:
        return f'<td class="weekend" title="{day:%a %d %b %Y}: weekend">{day.day}</td>'
    why = _holiday_name(day)
    return f'<td class="holiday" title="{escape(f"{day:%a %d %b %Y}: {why}")}">{day.day}</td>'


def _holiday_name(day: date) -> str:
    try:
        holiday = NSE_BSE_HOLIDAYS.holiday_on(day, Exchange.NSE) or NSE_BSE_HOLIDAYS.holiday_on(
            day, Exchange.BSE
        )
    except CalendarCoverageError:
        holiday = None
    return f"holiday, {holiday.name}" if holiday else "no session"


def _legend(worst: Decimal, best: Decimal) -> str:
    """What a colour means: from the worst day's loss (deepest red) to the best day's gain (deepest
    green), then the days that are not trading days."""
    low = f"worst day {signed_inr(worst)}" if worst < 0 else "no losing day"
    high = f"best day {signed_inr(best)}" if best > 0 else "no winning day"
    return (
        '<div class="legend">'
        f'<span><span class="n">{low}</span><span class="ramp"></span><span class="n">{high}</span></span>'
        '<span><span class="swatch day">7</span>₹0 or no trade</span>'
        '<span><span class="swatch weekend">7</span>weekend</span>'
        '<span><span class="swatch holiday">7</span>holiday, no session</span>'
        '<span><span class="swatch outside">7</span>outside the backtest</span></div>'
    )
