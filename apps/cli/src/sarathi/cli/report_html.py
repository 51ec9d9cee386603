"""The day's report as one self-contained HTML file: inline SVG charts, no script, no download.

Its first line says where the prices came from (`sarathi.cli.prices`). Then the summary, then the
trades, the entry orders that never filled (and why), one chart per
traded index (its 1-minute closes, entries ▲ and exits ▼ marked at the index level of their time,
a tooltip each), the equity curve (realised P&L net of charges after each trade), the signals and
the checks. A contract name is one unbreakable line (non-breaking spaces, `nowrap`).
The style, the chart scale and axes, `html_table` and `trades_table` are shared with the backtest's
report (`sarathi.cli.backtest_html`).

Read on a phone too: a wide table or chart scrolls sideways inside its own box (`.scroll`), the
page does not; a chart keeps a minimum width so its axis labels stay legible. Numbers sit right,
words left; a P&L carries its sign and ₹, green for a gain, red for a loss.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from sarathi.cli.report import NEVER_FILLED_MEANS, NOT_CHECKED, REASON_WORDS, DayReport, Trade
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import format_inr

WIDTH, HEIGHT, PAD = 920, 280, 48
LEFT = 72  # room for a y label such as "-13,515" or "24,314"
Series = Sequence[tuple[datetime, Decimal]]
NBSP = "\u00a0"  # a no-break space: a contract name never wraps mid-name
SIGNED_AMOUNT = re.compile(r"[-+]₹[\d,]+(?:\.\d+)?")
# A deployed day's report: the database keeps no index prices (`sarathi run` asks the sim for them).
NO_INDICES = "<p>No index prices: the database the report was read from keeps none.</p>"

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;padding:0 1rem;max-width:1080px;color:#222}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:2rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:.2rem .45rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{white-space:nowrap}
.r{text-align:right;white-space:nowrap}.n{white-space:nowrap}.w{text-align:right}
.contract{white-space:nowrap}
.gain{color:#1a7f37}.loss{color:#cf222e}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}
.scroll{overflow-x:auto;max-width:100%}
.scroll svg{min-width:640px;display:block;box-sizing:border-box;margin-bottom:.5rem}
svg{background:#fafafa;border:1px solid #e5e5e5}
.prices{font-weight:600;padding:.4rem .6rem;background:#fff8c5;border:1px solid #d4a72c}
.axis{font-size:11px;fill:#666}
"""


def page(title: str, style: str, body: str) -> str:
    """A whole self-contained page; the viewport line lets a phone lay it out at its own width."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{style}</style></head><body>{body}</body></html>\n"
    )


class Scale:
    def __init__(self, times: Sequence[datetime], values: Sequence[Decimal]) -> None:
        self.t0 = min(times).timestamp()
        self.t1 = max(max(times).timestamp(), self.t0 + 1)
        low, high = float(min(values)), float(max(values))
        margin = (high - low) * 0.08 or 1.0
        self.v0, self.v1 = low - margin, high + margin

    def x(self, at: datetime) -> float:
        return LEFT + (at.timestamp() - self.t0) / (self.t1 - self.t0) * (WIDTH - LEFT - PAD)

    def y(self, value: Decimal | float) -> float:
        return HEIGHT - PAD + (self.v0 - float(value)) / (self.v1 - self.v0) * (HEIGHT - 2 * PAD)


def axes(scale: Scale, ticks: Sequence[tuple[datetime, str]]) -> str:
    """Both axes: `ticks` labelled along x; round levels up y, each with a faint grid line."""
    parts = []
    for value in levels(scale.v0, scale.v1):
        y = scale.y(value)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD}" y2="{y:.1f}" stroke="#eaeaea"/>')
        parts.append(label(LEFT - 6, y + 4, "end", _level(value)))
    parts += [
        f'<line x1="{LEFT}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{PAD}" x2="{LEFT}" y2="{HEIGHT - PAD}" stroke="#999"/>',
    ]
    parts += [label(scale.x(at), HEIGHT - PAD + 16, "middle", text) for at, text in ticks]
    return "".join(parts)


def levels(low: float, high: float, most: int = 6) -> list[int]:
    """Round levels from `low` to `high` for a y axis, at most `most`: the multiples of the smallest
    step of 1, 2, 2.5 or 5 × 10ⁿ that keeps to `most`, a whole number (rupees, index points)."""
    need = (high - low) / (most - 1)
    power = 10 ** max(0, math.floor(math.log10(need))) if need > 0 else 1
    step = int(next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= need and (s * power) % 1 == 0))
    return [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]


def _level(value: int) -> str:
    """A y level grouped as the page's rupees are (`format_inr`: 1,00,000), without ₹ or paise."""
    return format_inr(Decimal(value)).replace("₹", "").removesuffix(".00")


def chart(aria: str, title: str, body: str) -> str:
    """An SVG chart of the common size, its title above the plot, in a box that scrolls sideways."""
    return (
        f'<div class="scroll"><svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{escape(aria)}">{body}'
        f'<text x="{LEFT}" y="{PAD - 14}" font-weight="600">{escape(title)}</text></svg></div>'
    )


def zero_line(scale: Scale) -> str:
    """A dashed line at ₹0, the level a P&L chart is read against."""
    zero = scale.y(0)
    return (
        f'<line x1="{LEFT}" y1="{zero:.1f}" x2="{WIDTH - PAD}" y2="{zero:.1f}" '
        'stroke="#999" stroke-dasharray="4 3"/>'
    )


def hour_ticks(times: Sequence[datetime]) -> list[tuple[datetime, str]]:
    """Every whole hour (IST) from the first time to the last."""
    first, last = min(times), max(times)
    hour = first.astimezone(IST).replace(minute=0, second=0, microsecond=0)
    ticks = []
    while hour <= last:
        if hour >= first:
            ticks.append((hour, f"{hour:%H:%M}"))
        hour += timedelta(hours=1)
    return ticks


def label(x: float, y: float, anchor: str, text: str) -> str:
    # The size on the element too: the SVG keeps its layout outside this page's style sheet.
    return (
        f'<text class="axis" font-size="11" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def _marker(x: float, y: float, up: bool, tip: str) -> str:
    shape = f"M{x:.1f},{y + 4:.1f} l-5,9 h10 z" if up else f"M{x:.1f},{y - 4:.1f} l-5,-9 h10 z"
    colour = "#1a7f37" if up else "#cf222e"
    return f'<path d="{shape}" fill="{colour}"><title>{escape(tip)}</title></path>'


def _hms(at: datetime) -> str:
    return at.astimezone(IST).strftime("%H:%M:%S")


def _level_at(series: Series, at: datetime) -> Decimal:
    times = [t for t, _ in series]
    i = min(max(bisect_left(times, at), 0), len(series) - 1)
    return series[i][1]


def index_chart(name: str, series: Series, trades: Sequence[Trade]) -> str:
    if len(series) < 2:
        return f"<p>No {escape(name)} prices were recorded.</p>"
    times, values = [t for t, _ in series], [v for _, v in series]
    scale = Scale(times, values)
    points = " ".join(f"{scale.x(t):.1f},{scale.y(v):.1f}" for t, v in series)
    marks = []
    for trade in trades:
        level = _level_at(series, trade.entry_at)
        x, y = scale.x(trade.entry_at), scale.y(level)
        tip = f"buy {trade.contract} × {trade.lots} lot(s) at {trade.entry_price} ({_hms(trade.entry_at)})"
        marks.append(_marker(x, y, True, tip))
        if trade.exit_at is not None:
            level = _level_at(series, trade.exit_at)
            x, y = scale.x(trade.exit_at), scale.y(level)
            reason = REASON_WORDS.get(trade.exit_reason or "", trade.exit_reason or "")
            when, net = _hms(trade.exit_at), signed_inr(trade.net)
            tip = f"sell {trade.contract} at {trade.exit_price} ({reason}, {when}), net {net}"
            marks.append(_marker(x, y, False, tip))
    return chart(
        f"{name} with entries and exits",
        f"{name}  ▲ entry  ▼ exit",
        f"{axes(scale, hour_ticks(times))}"
        f'<polyline fill="none" stroke="#0969da" stroke-width="1.4" points="{points}"/>'
        f"{''.join(marks)}",
    )


def equity_chart(report: DayReport, start: datetime, end: datetime) -> str:
    steps: list[tuple[datetime, Decimal]] = [(start, Decimal(0))]
    for at, value in report.equity:
        steps.append((at, steps[-1][1]))
        steps.append((at, value))
    steps.append((max(end, steps[-1][0]), steps[-1][1]))
    scale = Scale([t for t, _ in steps], [v for _, v in steps] + [Decimal(0)])
    points = " ".join(f"{scale.x(t):.1f},{scale.y(v):.1f}" for t, v in steps)
    return chart(
        "equity curve",
        "Equity: realised P&L net of charges (₹)",
        f"{axes(scale, hour_ticks([t for t, _ in steps]))}{zero_line(scale)}"
        f'<polyline fill="none" stroke="#8250df" stroke-width="1.6" points="{points}"/>',
    )


def html_table(cells: Sequence[Sequence[object]], head: Sequence[str], align: str = "") -> str:
    """A table, wrapped to scroll sideways on a narrow screen. `align` has a letter a column:
    `l` words (left, may wrap), `n` words kept on one line, `r` a number (right, on one line),
    `w` a figure with words (right, may wrap); unless told, the first column is `l`, the others `r`."""
    kinds = [align[i] if i < len(align) else "lr"[i > 0] for i in range(len(head))]
    header = "".join(f"<th{_kind(k)}>{escape(h)}</th>" for h, k in zip(head, kinds, strict=True))
    body = "".join(
        "<tr>" + "".join(_cell(c, k) for c, k in zip(row, kinds, strict=True)) + "</tr>" for row in cells
    )
    return f'<div class="scroll"><table><tr>{header}</tr>{body}</table></div>'


def _kind(kind: str) -> str:
    return "" if kind == "l" else f' class="{kind}"'


class Contract(str):
    """A contract name: one line, whatever the width of the page."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Pnl:
    """A profit or loss in a table: signed, in ₹, green for a gain and red for a loss."""

    amount: Decimal


def signed_inr(amount: Decimal) -> str:
    """`+₹1,300.00`, `-₹1,485.25`, `₹0.00`: a P&L whose sign is never left to be guessed."""
    return ("+" if amount > 0 else "") + format_inr(amount)


def _cell(value: object, kind: str) -> str:
    if isinstance(value, Contract):
        return f'<td class="contract">{escape(value.replace(" ", NBSP))}</td>'
    if isinstance(value, Pnl):
        colour = " gain" if value.amount > 0 else " loss" if value.amount < 0 else ""
        return f'<td class="{kind}{colour}">{escape(signed_inr(value.amount))}</td>'
    text = words(str(value)) if kind in "lw" else escape(str(value))
    return f"<td{_kind(kind)}>{text}</td>"


def words(text: str) -> str:
    """Text for a cell that may wrap: escaped, each signed amount kept on one line (a browser would
    break `-₹4,296.25` after its minus)."""
    return SIGNED_AMOUNT.sub(r'<span class="n">\g<0></span>', escape(text))


TRADE_HEAD = (
    "contract", "lots", "buys", "entry", "price ₹", "exit", "price ₹", "reason", "gross", "charges", "net",
)  # fmt: skip


def trades_table(
    trades: Sequence[Trade],
    when: Callable[[datetime], str] = _hms,
    exit_when: Callable[[datetime, datetime], str] | None = None,
) -> str:
    """One row a trade; `when` writes its entry and exit times (the day's: `HH:MM:SS` IST), or
    `exit_when(exit_at, entry_at)` its exit (the backtest's: the day only when it differs)."""
    until = exit_when or (lambda exit_at, _: when(exit_at))
    return html_table(
        [
            [
                Contract(t.contract),
                t.lots,
                t.entries,
                when(t.entry_at),
                f"{t.entry_price:,.2f}",
                "-" if t.exit_at is None else until(t.exit_at, t.entry_at),
                "-" if t.exit_price is None else f"{t.exit_price:,.2f}",
                REASON_WORDS.get(t.exit_reason or "", t.exit_reason or "open"),
                Pnl(t.gross),
                format_inr(t.charges),
                Pnl(t.net),
            ]
            for t in trades
        ],
        TRADE_HEAD,
        "nrrrrrrnrrr",
    )


def prices_paragraph(line: str) -> str:
    """The report's first line, where its prices came from (`sarathi.cli.prices`)."""
    return f'<p class="prices">{escape(line)}</p>'


def render_html(report: DayReport, indices: Mapping[str, Series], start: datetime, end: datetime) -> str:
    info = report.info
    charts = "".join(
        index_chart(name, series, [t for t in report.trades if t.underlying == name])
        for name, series in indices.items()
    )
    trades = trades_table(report.trades)
    closed = sum(1 for t in report.trades if t.closed)
    rate = "-" if report.win_rate is None else f"{report.win_rate:.0%}"
    books = report.books_line if report.checks is None or report.books_match else (
        "DIFFER: " + ", ".join(c.name for c in report.checks if not c.ok)
    )  # fmt: skip
    summary = html_table(
        [
            ["P&L net", signed_inr(report.net)],
            ["P&L gross", signed_inr(report.gross)],
            ["charges", format_inr(report.charges)],
            ["trades", f"{len(report.trades)} ({closed} closed, {report.wins} won)"],
            ["win rate", rate],
            ["max drawdown (realised, net)", format_inr(report.max_drawdown)],
            ["orders sent (entries and exits)", report.orders_sent],
            ["entry orders never filled", len(report.unfilled_entries)],
            ["our books", books],
        ],
        ("", ""),
        "lw",
    )
    unfilled = ""
    if report.unfilled_entries:
        unfilled = (
            f"<h2>Never filled ({len(report.unfilled_entries)})</h2><p>{escape(NEVER_FILLED_MEANS)}</p>"
            + html_table(
                [
                    [
                        Contract(u.contract),
                        u.order_type,
                        u.quantity,
                        "-" if u.price is None else f"{u.price:,.2f}",
                        _hms(u.placed_at),
                        u.why,
                        u.client_order_id,
                    ]
                    for u in report.unfilled_entries
                ],
                ("contract", "type", "quantity", "limit ₹", "placed", "why it never filled", "order"),
                "nnrrrln",
            )
        )
    s = report.signals
    signals = html_table(
        [
            ["signals (BULLISH / BEARISH)", s.signals, ""],
            ["acted on", s.acted, ""],
            ["never decided", s.undecided, ""],
        ]
        + [[f"refused: {gate}", n, s.refusal_examples.get(gate, "")] for gate, n in s.refused.items()],
        (f"{s.bars_decided} bar closes decided", "", "for example"),
        "nrl",
    )
    if report.checks is None:
        checks = f"<p>{escape(NOT_CHECKED.capitalize())}: read from the database alone.</p>"
    else:
        rows = "".join(
            f'<tr><td class="{"ok" if c.ok else "bad"}">{"ok" if c.ok else "DIFF"}</td>'
            f'<td class="n">{escape(c.name)}</td><td>{words(c.detail)}</td></tr>'
            for c in report.checks
        )
        checks = f'<div class="scroll"><table>{rows}</table></div>'
    return page(
        info.title,
        STYLE,
        f"{prices_paragraph(info.prices)}<h1>{escape(info.title)}</h1><p>{escape(info.about)}</p>"
        f"<h2>Summary</h2>{summary}<h2>Trades ({len(report.trades)})</h2>{trades}{unfilled}"
        f"<h2>Prices</h2>{charts or NO_INDICES}<h2>Equity curve</h2>{equity_chart(report, start, end)}"
        f"<h2>Signals</h2>{signals}<h2>Our books against the broker's</h2>{checks}",
    )
