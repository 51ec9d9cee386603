"""A backtest's report: one self-contained HTML page, and the trades as CSV and JSON (issue #21 §4).

`write_report(document, directory)` is all `sarathi backtest` calls: it reads and checks the
document (`read_document`: a `DocumentError` naming the field, before anything is written),
computes the statistics (`statistics`, pure) and writes `<stem>.html` (`backtest_html`),
`<stem>-trades.csv` and `<stem>-trades.json` (the document itself).

The document is the simulated day's trades document (`day_files.trades_json`, schema_version 1)
extended: `source` (`dhan`, `recording` or `sim`, optionally with a tail: `sim-seed20260915`),
`from`, `to`, `underlyings`, `daily_loss_limit_inr` and `capital_inr` (either may be absent),
`trades` and `days` (every trading day of the range, with its net, gross, charges and trade count,
a day without trades too). Money is a string of rupees to the paisa, times ISO-8601 with an offset.
A trade belongs to the day (IST) of its entry; a document whose days disagree with its trades, or
a trade whose net is not its gross less its charges, is refused.

Statistics. Money is Decimal rupees; the ratios (win rate, profit factor) are Decimal; only
Sharpe and Sortino are floats — ratios, not money.
- Net P&L, gross, charges paid: sums over every trade (equal to the sums over the days).
- A trade is won when its net (after charges) is above 0, lost when below; at exactly 0, neither.
  Win rate, profit factor, expectancy and the trade streak count closed trades only (an open
  trade, which a backtest squaring off every day has not, counts in the sums only).
- Win rate: won / closed. None without a closed trade.
- Profit factor: the net of won trades / |the net of lost trades|. None (shown "∞") when no trade
  lost; 0 when trades lost and none won.
- Expectancy per trade: the net of closed trades / closed trades, to the paisa.
- Max drawdown, on the daily equity curve E₀ = 0 (before the first day), Eₐ = the net of every
  day up to and including day d: the largest Eₚ − Eₐ over peaks p ≤ d, with the peak's and the
  trough's day (a fall from E₀ has no peak day). 0 when the curve never falls.
- Sharpe: daily returns rₐ = netₐ / C over every trading day of the range (a day without trades
  returns 0), C = `capital_inr`, held fixed (the lots do not grow with equity: no compounding).
  Sharpe = mean(r) / sd(r) × √252, sd the sample deviation (n − 1), a risk-free rate of 0. C being
  fixed cancels out: the ratio is that of the daily net P&L, so it needs no `capital_inr`. None
  (shown "—") with fewer than two days or no variance.
- Sortino = mean(r) / DD × √252, DD = √(Σ min(rₐ, 0)² / n) over all n days (target 0). None with
  no losing day (DD = 0).
- Longest losing streak, in trades: the most closed trades in a row (by exit time) each lost; in
  days: the most trading days in a row each with net below 0 (a day without trades ends a streak).
- Worst day: the day of the lowest net, as a share of the daily loss limit L (when known), and
  the days whose net is −L or below.
- Tables per underlying and per exit reason (trades, won, win rate, gross, charges, net) and per
  month (trading days, trades, won, net, charges, worst day).
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from sarathi.cli.prices import PriceSource, prices_line
from sarathi.cli.report import Trade
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import PAISA

T = TypeVar("T")
ZERO = Decimal(0)
TRADING_DAYS_A_YEAR = 252
TRADE_COLUMNS = (
    "contract", "underlying", "security_id", "lots", "quantity", "entries", "entry_at", "entry_price",
    "exit_at", "exit_price", "exit_reason", "gross", "charges", "net",
)  # fmt: skip


class DocumentError(ValueError):
    """A backtest document the report cannot be built from; the message names the field."""


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    net: Decimal
    gross: Decimal
    charges: Decimal
    trades: int


@dataclass(frozen=True, slots=True)
class Backtest:
    source: PriceSource
    source_name: str  # as the document has it: "sim-seed20260915", "dhan"
    first: date
    last: date
    underlyings: tuple[str, ...]
    daily_loss_limit: Decimal | None
    capital: Decimal | None
    trades: tuple[Trade, ...]  # by entry time
    days: tuple[Day, ...]  # by day

    @property
    def prices(self) -> str:
        """The report's first line: where the prices came from."""
        span = f"{self.first} to {self.last}"
        name = span if self.source_name == self.source.value else f"{self.source_name}, {span}"
        return prices_line(self.source, name)


@dataclass(frozen=True, slots=True)
class Group:
    """Closed trades of one underlying, one exit reason."""

    name: str
    trades: int
    won: int
    gross: Decimal
    charges: Decimal
    net: Decimal

    @property
    def win_rate(self) -> Decimal | None:
        return Decimal(self.won) / self.trades if self.trades else None


@dataclass(frozen=True, slots=True)
class Month:
    month: date  # its first day
    days: int  # trading days
    trades: int
    won: int
    net: Decimal
    charges: Decimal
    worst_day: Decimal


@dataclass(frozen=True, slots=True)
class Drawdown:
    amount: Decimal
    peak: date | None  # None: the fall is from the start (E₀ = 0)
    trough: date | None


@dataclass(frozen=True, slots=True)
class Statistics:
    net: Decimal
    gross: Decimal
    charges: Decimal
    trades: int
    closed: int
    won: int
    lost: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None
    max_drawdown: Drawdown
    sharpe: float | None
    sortino: float | None
    losing_streak_trades: int
    losing_streak_days: int
    worst_day: Day | None
    days_at_limit: tuple[date, ...]  # net at or below −daily loss limit
    equity: tuple[tuple[date, Decimal], ...]  # E after each day
    by_underlying: tuple[Group, ...]
    by_exit_reason: tuple[Group, ...]
    by_month: tuple[Month, ...]


@dataclass(frozen=True, slots=True)
class ReportPaths:
    html: Path
    csv: Path
    json: Path


# -- statistics -------------------------------------------------------------------------------


def statistics(backtest: Backtest) -> Statistics:
    trades = backtest.trades
    closed = sorted((t for t in trades if t.exit_at is not None), key=lambda t: t.exit_at or t.entry_at)
    won = [t.net for t in closed if t.net > 0]
    lost = [t.net for t in closed if t.net < 0]
    nets = [d.net for d in backtest.days]
    equity, total = [], ZERO
    for d in backtest.days:
        total += d.net
        equity.append((d.day, total))
    limit = backtest.daily_loss_limit
    return Statistics(
        net=sum((t.net for t in trades), ZERO),
        gross=sum((t.gross for t in trades), ZERO),
        charges=sum((t.charges for t in trades), ZERO),
        trades=len(trades),
        closed=len(closed),
        won=len(won),
        lost=len(lost),
        win_rate=Decimal(len(won)) / len(closed) if closed else None,
        profit_factor=sum(won, ZERO) / -sum(lost, ZERO) if lost else None,
        expectancy=(sum((t.net for t in closed), ZERO) / len(closed)).quantize(PAISA) if closed else None,
        max_drawdown=max_drawdown(equity),
        sharpe=sharpe(nets),
        sortino=sortino(nets),
        losing_streak_trades=longest_run(t.net < 0 for t in closed),
        losing_streak_days=longest_run(n < 0 for n in nets),
        worst_day=min(backtest.days, key=lambda d: d.net, default=None),
        days_at_limit=tuple(d.day for d in backtest.days if limit is not None and d.net <= -limit),
        equity=tuple(equity),
        by_underlying=_groups(closed, lambda t: t.underlying),
        by_exit_reason=_groups(closed, lambda t: t.exit_reason or "?"),
        by_month=_months(backtest),
    )


def max_drawdown(equity: Sequence[tuple[date, Decimal]]) -> Drawdown:
    peak_value, peak_day = ZERO, None
    worst = Drawdown(ZERO, None, None)
    for day, value in equity:
        if value > peak_value:
            peak_value, peak_day = value, day
        if peak_value - value > worst.amount:
            worst = Drawdown(peak_value - value, peak_day, day)
    return worst


def sharpe(daily_net: Sequence[Decimal]) -> float | None:
    n = len(daily_net)
    if n < 2:
        return None
    mean = sum(daily_net, ZERO) / n
    variance = sum(((x - mean) ** 2 for x in daily_net), ZERO) / (n - 1)
    if variance == 0:
        return None
    return float(mean / variance.sqrt() * Decimal(TRADING_DAYS_A_YEAR).sqrt())


def sortino(daily_net: Sequence[Decimal]) -> float | None:
    n = len(daily_net)
    downside = sum((min(x, ZERO) ** 2 for x in daily_net), ZERO)
    if n == 0 or downside == 0:
        return None
    mean = sum(daily_net, ZERO) / n
    return float(mean / (downside / n).sqrt() * Decimal(TRADING_DAYS_A_YEAR).sqrt())


def longest_run(flags: Iterable[bool]) -> int:
    longest = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def _groups(trades: Sequence[Trade], key: Callable[[Trade], str]) -> tuple[Group, ...]:
    by: dict[str, list[Trade]] = defaultdict(list)
    for t in trades:
        by[key(t)].append(t)
    return tuple(
        Group(
            name,
            len(ts),
            sum(1 for t in ts if t.net > 0),
            sum((t.gross for t in ts), ZERO),
            sum((t.charges for t in ts), ZERO),
            sum((t.net for t in ts), ZERO),
        )
        for name, ts in sorted(by.items())
    )


def _months(backtest: Backtest) -> tuple[Month, ...]:
    days: dict[date, list[Day]] = defaultdict(list)
    for d in backtest.days:
        days[d.day.replace(day=1)].append(d)
    won: dict[date, int] = defaultdict(int)
    for t in backtest.trades:
        if t.exit_at is not None and t.net > 0:
            won[trade_day(t).replace(day=1)] += 1
    return tuple(
        Month(
            month,
            len(ds),
            sum(d.trades for d in ds),
            won[month],
            sum((d.net for d in ds), ZERO),
            sum((d.charges for d in ds), ZERO),
            min(d.net for d in ds),
        )
        for month, ds in sorted(days.items())
    )


def trade_day(trade: Trade) -> date:
    """The trading day a trade belongs to: that of its entry, in IST."""
    return trade.entry_at.astimezone(IST).date()


# -- reading the document -----------------------------------------------------------------------


def read_document(document: Mapping[str, Any]) -> Backtest:
    """The document, checked; `DocumentError` naming the first field that is wrong."""
    if not isinstance(document, Mapping):
        raise DocumentError("the backtest document is not a JSON object")
    if document.get("schema_version") != 1:
        raise DocumentError(f"schema_version: {document.get('schema_version')!r}, expected 1")
    try:
        source = PriceSource.of(_text(document, "source"))
    except ValueError as exc:
        raise DocumentError(f"source: {exc}") from None
    first, last = _date(document, "from"), _date(document, "to")
    if last < first:
        raise DocumentError(f"to: {last} is before from {first}")
    trades = tuple(
        sorted((_trade(row, f"trades[{i}]") for i, row in enumerate(_list(document, "trades"))),
               key=lambda t: t.entry_at)
    )  # fmt: skip
    days = tuple(_day(row, f"days[{i}]") for i, row in enumerate(_list(document, "days")))
    _check_days(days, trades, first, last)
    underlyings = document.get("underlyings") or sorted({t.underlying for t in trades})
    return Backtest(
        source=source,
        source_name=str(document["source"]),
        first=first,
        last=last,
        underlyings=tuple(str(u) for u in underlyings),
        daily_loss_limit=_optional(_amount, document, "daily_loss_limit_inr"),
        capital=_optional(_amount, document, "capital_inr"),
        trades=trades,
        days=days,
    )


def _check_days(days: Sequence[Day], trades: Sequence[Trade], first: date, last: date) -> None:
    listed = [d.day for d in days]
    if listed != sorted(set(listed)):
        raise DocumentError("days: not in order, or a day listed twice")
    if listed and (listed[0] < first or listed[-1] > last):
        raise DocumentError(f"days: {listed[0]} to {listed[-1]} is outside from {first} to {last}")
    by_day: dict[date, list[Trade]] = defaultdict(list)
    for t in trades:
        by_day[trade_day(t)].append(t)
    if unlisted := sorted(set(by_day) - set(listed)):
        raise DocumentError(f"trades: a trade entered on {unlisted[0]}, a day not in days")
    for d in days:
        ts = by_day.get(d.day, [])
        theirs = (len(ts), sum((t.net for t in ts), ZERO), sum((t.charges for t in ts), ZERO))
        if (d.trades, d.net, d.charges) != theirs:
            raise DocumentError(
                f"days {d.day}: {d.trades} trades, net {d.net}, charges {d.charges}; its trades say "
                f"{theirs[0]} trades, net {theirs[1]}, charges {theirs[2]}"
            )


def _trade(row: Any, where: str) -> Trade:
    if not isinstance(row, Mapping):
        raise DocumentError(f"{where}: not an object")
    exit_at = _optional(_time, row, "exit_at", where)
    exit_price = _optional(_amount, row, "exit_price", where)
    if (exit_at is None) != (exit_price is None):
        raise DocumentError(f"{where}: exit_at and exit_price must both be given, or both null")
    trade = Trade(
        underlying=_text(row, "underlying", where),
        security_id=_text(row, "security_id", where),
        contract=_text(row, "contract", where),
        lots=_count(row, "lots", where),
        quantity=_count(row, "quantity", where),
        entries=_count(row, "entries", where),
        entry_at=_time(row, "entry_at", where),
        entry_price=_amount(row, "entry_price", where),
        exit_at=exit_at,
        exit_price=exit_price,
        exit_reason=None if row.get("exit_reason") is None else str(row["exit_reason"]),
        gross=_amount(row, "gross", where),
        charges=_amount(row, "charges", where),
    )
    net = _amount(row, "net", where)
    if net != trade.net:
        raise DocumentError(f"{where}.net: {net} is not gross {trade.gross} less charges {trade.charges}")
    return trade


def _day(row: Any, where: str) -> Day:
    if not isinstance(row, Mapping):
        raise DocumentError(f"{where}: not an object")
    day = Day(
        _date(row, "day", where),
        _amount(row, "net", where),
        _amount(row, "gross", where),
        _amount(row, "charges", where),
        _count(row, "trades", where),
    )
    if day.net != day.gross - day.charges:
        raise DocumentError(f"{where}.net: {day.net} is not gross {day.gross} less charges {day.charges}")
    return day


def _name(key: str, where: str) -> str:
    return f"{where}.{key}" if where else key


def _text(row: Mapping[str, Any], key: str, where: str = "") -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise DocumentError(f"{_name(key, where)}: {value!r} is not a text")
    return value


def _list(row: Mapping[str, Any], key: str) -> list[Any]:
    value = row.get(key)
    if not isinstance(value, list):
        raise DocumentError(f"{key}: {value!r} is not a list")
    return value


def _count(row: Mapping[str, Any], key: str, where: str) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DocumentError(f"{_name(key, where)}: {value!r} is not a whole number, 0 or more")
    return value


def _date(row: Mapping[str, Any], key: str, where: str = "") -> date:
    value = row.get(key)
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DocumentError(f"{_name(key, where)}: {value!r} is not a date (YYYY-MM-DD)") from None


def _time(row: Mapping[str, Any], key: str, where: str) -> datetime:
    value = row.get(key)
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise DocumentError(f"{_name(key, where)}: {value!r} is not an ISO-8601 time with an offset")
    return at


def _amount(row: Mapping[str, Any], key: str, where: str = "") -> Decimal:
    value = row.get(key)
    try:
        amount = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.quantize(PAISA):
        raise DocumentError(f"{_name(key, where)}: {value!r} is not rupees to the paisa, as a string")
    return amount


def _optional(read: Callable[[Mapping[str, Any], str, str], T], row: Mapping[str, Any], key: str,
              where: str = "") -> T | None:  # fmt: skip
    return None if row.get(key) is None else read(row, key, where)


# -- writing ----------------------------------------------------------------------------------


def write_report(document: Mapping[str, Any], directory: Path) -> ReportPaths:
    """The HTML page, the trades as CSV and the document as JSON, in `directory` (created).

    `DocumentError` before anything is written when the document is wrong.
    """
    from sarathi.cli.backtest_html import render_backtest_html

    backtest = read_document(document)
    html = render_backtest_html(backtest, statistics(backtest))
    directory.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", backtest.source_name)
    stem = directory / f"sarathi-backtest-{name}-{backtest.first}-{backtest.last}"
    paths = ReportPaths(
        stem.with_name(stem.name + ".html"),
        stem.with_name(stem.name + "-trades.csv"),
        stem.with_name(stem.name + "-trades.json"),
    )
    paths.html.write_text(html, encoding="utf-8")
    write_trades_csv(document["trades"], paths.csv)
    paths.json.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths


def write_trades_csv(trades: Sequence[Mapping[str, Any]], path: Path) -> None:
    """One row a trade, the document's values as they are (null: empty); extra keys after ours."""
    extra = sorted({k for t in trades for k in t} - set(TRADE_COLUMNS))
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=[*TRADE_COLUMNS, *extra])
        writer.writeheader()
        for t in trades:
            writer.writerow({k: "" if v is None else v for k, v in t.items()})
