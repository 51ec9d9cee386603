"""Sarathi's Grafana dashboards as code: builds them with grafana-foundation-sdk and writes the JSON
that Grafana provisions from deploy/grafana/dashboards/ (deploy/grafana/provisioning/).

    uv run python deploy/grafana/generate.py           # (re)write the dashboards (`make dashboards`)
    uv run python deploy/grafana/generate.py --check   # exit 1 if the checked-in JSON is stale

Edit this file, never the JSON: the JSON is its output, checked in so that a change to a
dashboard is a visible diff, and compared with a fresh generation by deploy/tests.

Every query reads the Prometheus of deploy/prometheus/prometheus.yml (data source uid
`prometheus`), whose scrape configuration adds the `service` label. Every metric named here must
be exported by some service; deploy/tests/test_observability.py checks that against the
services' real /metrics output.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, StackingConfig, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import Dashboard, Row, ThresholdsConfig
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    BigValueTextMode,
    GraphDrawStyle,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
    VisibilityMode,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardSpecialValueMapOptions,
    DataSourceRef,
    Panel,
    SpecialValueMap,
    SpecialValueMatch,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMapping,
    ValueMappingResult,
)

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"

# The data source of deploy/grafana/provisioning/datasources/prometheus.yml, by its fixed uid.
DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")

TRADING_SERVICES = ("feed", "signals", "execution", "orders", "risk")
SERVICES = ("sim", *TRADING_SERVICES)

# The control KV's states (sarathi.common.domain.control.TradingState), as one number each so a
# stat panel can colour the current state.
TRADING_STATES = (("RECONCILING", "blue"), ("ACTIVE", "green"), ("PAUSED", "orange"), ("HALTED", "red"))

QUANTILES = (0.5, 0.9, 0.99)
RATE = "$__rate_interval"
TAGS = ["sarathi"]
INR = "currencyINR"
REJECTED = '"rejected|not_sent"'  # placement outcomes that are rejections (orders' `orders` counter)

# Thresholds shared with deploy/prometheus/alerts.yml (deploy/tests checks they agree).
TOKEN_EXPIRING_SECONDS = 2700  # the token has less left than this: renewal (an hour ahead) failed
DAILY_LOSS_NEAR_RATIO = 0.8  # net loss at this share of the daily loss limit

Rows = Sequence[tuple[str, Sequence[Builder[Panel]]]]


# ---- queries ----------------------------------------------------------------------------------


def query(expr: str, legend: str = "", *, instant: bool = False) -> prometheus.Dataquery:
    built = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    if legend:
        built = built.legend_format(legend)
    return built.instant() if instant else built.range()


def quantiles(metric: str, by: Sequence[str] = (), window: str = RATE) -> list[prometheus.Dataquery]:
    """p50, p90 and p99 of a histogram (`metric` without `_bucket`), optionally per label."""
    labels = ", ".join(("le", *by))
    suffix = "".join(f" {{{{{label}}}}}" for label in by)
    return [
        query(
            f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket[{window}])))",
            f"p{round(q * 100)}{suffix}",
        )
        for q in QUANTILES
    ]


def p99_over_range(metric: str, legend: str) -> prometheus.Dataquery:
    expr = f"histogram_quantile(0.99, sum by (le) (increase({metric}_bucket[$__range])))"
    return query(expr, legend, instant=True)


def increase(selector: str, by: str, window: str = RATE) -> str:
    return f"sum by ({by}) (increase({selector}[{window}]))"


def trading_state_code() -> str:
    """The current trading state as its index in TRADING_STATES (one series, from the 1-of-n gauge)."""
    parts = [
        f'{index} * (sarathi_risk_trading_state_state{{state="{state}"}} == 1)'
        for index, (state, _) in enumerate(TRADING_STATES)
    ]
    return f"max({' or '.join(parts)})"


# ---- panels -----------------------------------------------------------------------------------


def targets(queries: Sequence[prometheus.Dataquery]) -> list[Builder[variants.Dataquery]]:
    """The panel's queries with the refIds Grafana expects (A, B, ...): unique within a panel."""
    assert len(queries) <= 26
    return [q.ref_id(chr(ord("A") + n)) for n, q in enumerate(queries)]


def thresholds(*steps: tuple[float | None, str]) -> ThresholdsConfig:
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([Threshold(v, c) for v, c in steps])


def value_map(*entries: tuple[int, str, str]) -> list[ValueMapping]:
    return [
        ValueMap(
            {
                str(value): ValueMappingResult(text=text, color=color, index=index)
                for index, (value, text, color) in enumerate(entries)
            }
        )
    ]


def unknown_when_nan() -> list[ValueMapping]:
    """NaN (a gauge the service cannot fill yet) shown as "unknown" rather than as NaN."""
    result = ValueMappingResult(text="unknown", color="text", index=0)
    return [SpecialValueMap(DashboardSpecialValueMapOptions(SpecialValueMatch.NA_N, result))]


def graph(
    title: str,
    description: str,
    queries: Sequence[prometheus.Dataquery],
    *,
    unit: str = "short",
    span: int = 12,
    height: int = 8,
    bars: bool = False,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .unit(unit)
        .span(span)
        .height(height)
        .legend(
            VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    if bars:
        panel = (
            panel.draw_style(GraphDrawStyle.BARS)
            .fill_opacity(80)
            .stacking(StackingConfig().mode(StackingMode.NORMAL))
        )
    return panel


def single(
    title: str,
    description: str,
    queries: Sequence[prometheus.Dataquery],
    *,
    unit: str = "short",
    span: int = 6,
    height: int = 4,
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
    mappings: list[ValueMapping] | None = None,
    text: BigValueTextMode = BigValueTextMode.AUTO,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .unit(unit)
        .span(span)
        .height(height)
        .thresholds(thresholds(*steps))
        .color_mode(BigValueColorMode.BACKGROUND)
        .graph_mode(BigValueGraphMode.NONE)
        .text_mode(text)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return panel.mappings(mappings) if mappings is not None else panel


def dashboard(uid: str, title: str, description: str, time_from: str, rows: Rows) -> Dashboard:
    """A read-only dashboard of rows of panels, laid out left to right, the panels numbered 1, 2, ...
    in order so that their ids (and links to them) are stable."""
    board = (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .readonly()
        .timezone("Asia/Kolkata")
        .time(time_from, "now")
        .refresh("30s")
    )
    for row_title, panels in rows:
        board = board.with_row(Row(row_title))
        for panel in panels:
            board = board.with_panel(panel)
    for number, item in enumerate(board.build().panels or [], start=1):
        item.id_val = number
    return board


# ---- system health ----------------------------------------------------------------------------


def system_health() -> Dashboard:
    up = f'up{{service=~"{"|".join(SERVICES)}"}}'
    ready = " or ".join(f"sarathi_{service}_up_state" for service in SERVICES)
    services = [
        single(
            "Scraped (up)",
            "Prometheus reaches the service's /metrics (the `up` series of each scrape target). "
            "sim runs in the sim and paper modes only.",
            [query(up, "{{service}}", instant=True)],
            span=12,
            steps=((None, "red"), (1, "green")),
            mappings=value_map((0, "DOWN", "red"), (1, "UP", "green")),
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
        single(
            "Ready (/readyz)",
            "1 while the service's /readyz passes: NATS and, where used, the database connected "
            "(sarathi_<service>_up_state).",
            [query(ready, "{{service}}", instant=True)],
            span=12,
            steps=((None, "red"), (1, "green")),
            mappings=value_map((0, "NOT READY", "red"), (1, "READY", "green")),
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
    ]
    feed = [
        graph(
            "Ticks per second",
            "Tick-bearing packets decoded from Dhan, and ticks published on NATS, by segment.",
            [
                query(
                    f"sum by (segment) (rate(sarathi_feed_ticks_received_total[{RATE}]))",
                    "received {{segment}}",
                ),
                query(
                    f"sum by (segment) (rate(sarathi_feed_ticks_published_total[{RATE}]))",
                    "published {{segment}}",
                ),
            ],
        ),
        graph(
            "Feed lag: exchange time → published",
            "From the exchange time of the newest tick of a batch to its publication on NATS.",
            quantiles("sarathi_feed_lag_seconds"),
            unit="s",
        ),
        graph(
            "Seconds since the last frame, by connection",
            "Staleness of each feed socket; one without a frame for SARATHI_FEED_CONNECTION_STALE_SECONDS "
            "(5 s) is stale.",
            [query("max by (connection) (sarathi_feed_staleness_seconds)", "connection {{connection}}")],
            unit="s",
            span=8,
        ),
        graph(
            "Stale instruments and held contracts",
            "Feed: subscribed instruments (in market hours) and connections without fresh data. "
            "Risk: held contracts without a fresh tick, on which it decides nothing.",
            [
                query("sum(sarathi_feed_stale_instruments_count)", "feed: stale instruments"),
                query("sum(sarathi_risk_stale_contracts_count)", "risk: stale held contracts"),
            ],
            span=8,
        ),
        single(
            "Feed connections",
            "Each market-feed socket: connected, reconnecting, waiting for a valid token (Dhan refused "
            "the credentials; it retries every 5-30 s) or stopped (the feed needs an operator).",
            [
                query(
                    "max by (connection) (sarathi_feed_connection_state)",
                    "connection {{connection}}",
                    instant=True,
                )
            ],
            span=8,
            height=8,
            steps=((None, "red"), (0, "orange"), (1, "green")),
            mappings=value_map(
                (-2, "STOPPED", "red"),
                (-1, "WAITING FOR TOKEN", "red"),
                (0, "RECONNECTING", "orange"),
                (1, "CONNECTED", "green"),
            ),
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
        graph(
            "Reconnects, disconnects and refused logins",
            "Feed sockets lost (by Dhan's reason), reconnect attempts, logins refused for credentials.",
            [
                query(increase("sarathi_feed_reconnects_total", "connection"), "reconnect {{connection}}"),
                query(increase("sarathi_feed_disconnects_total", "reason"), "disconnect: {{reason}}"),
                query(increase("sarathi_feed_auth_failures_total", "reason"), "auth refused: {{reason}}"),
            ],
            span=8,
            bars=True,
        ),
        graph(
            "Subscriptions per connection",
            "Instruments subscribed on each feed socket (Dhan allows 5,000 per connection).",
            [query("max by (connection) (sarathi_feed_subscriptions_count)", "connection {{connection}}")],
            span=8,
        ),
        graph(
            "Feed errors",
            "Packets skipped by the decoder, tick publishes NATS refused, failed recording writes.",
            [
                query(increase("sarathi_feed_decode_errors_total", "kind"), "decode: {{kind}}"),
                query(f"sum(increase(sarathi_feed_publish_errors_total[{RATE}]))", "publish"),
                query(f"sum(increase(sarathi_feed_recorder_errors_total[{RATE}]))", "recorder"),
            ],
            span=8,
            bars=True,
        ),
    ]
    broker = [
        single(
            "Dhan token expires in",
            "Time left on the access token; renewed an hour before expiry where renewal is configured. "
            "Empty when the expiry is unknown (the sim's token).",
            [query("min(sarathi_orders_token_expiry_seconds)", instant=True)],
            unit="s",
            height=8,
            steps=((None, "red"), (TOKEN_EXPIRING_SECONDS, "orange"), (3 * 3600, "green")),
            mappings=unknown_when_nan(),
        ),
        graph(
            "Reconciliation drift",
            "Differences between our books and the broker's found by the last pass (every 60 s of "
            "market time), and failed passes.",
            [
                query("max(sarathi_orders_reconciliation_drift_count)", "differences"),
                query(
                    f"sum(increase(sarathi_orders_reconciliation_failures_total[{RATE}]))", "failed passes"
                ),
            ],
            span=6,
        ),
        graph(
            "Order-update socket",
            "Reconnections of Dhan's order-update WebSocket, and the order alerts received on it.",
            [
                query(f"sum(increase(sarathi_orders_order_update_reconnects_total[{RATE}]))", "reconnects"),
                query(f"sum(increase(sarathi_orders_order_update_alerts_total[{RATE}]))", "alerts"),
            ],
            span=6,
            bars=True,
        ),
        graph(
            "Calls queued behind our rate limits",
            "Broker calls that waited for Dhan's rate limits (enforced on our side), by category.",
            [query(increase("sarathi_orders_rate_limit_waits_total", "category"), "{{category}}")],
            span=6,
            bars=True,
        ),
    ]
    loops = [
        graph(
            "Risk loop lateness (market time)",
            "How late each 5-second risk check started. In sim mode this is market time: a fast "
            "simulation inflates it.",
            quantiles("sarathi_risk_loop_lateness_seconds"),
            unit="s",
            span=8,
        ),
        graph(
            "Risk checks per second, by trigger",
            "Position checks by the 5-second loop and by ticks; none at all means the loop has stalled.",
            [query(f"sum by (trigger) (rate(sarathi_risk_checks_total[{RATE}]))", "{{trigger}}")],
            span=8,
        ),
        single(
            "Signals warmed up",
            "1 once an underlying's indicators have enough history to decide.",
            [query("max by (underlying) (sarathi_signals_warm_up_state)", "{{underlying}}", instant=True)],
            span=8,
            height=8,
            steps=((None, "orange"), (1, "green")),
            mappings=value_map((0, "WARMING UP", "orange"), (1, "WARM", "green")),
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
        graph(
            "Emulator engine lag (market time)",
            "sim: market seconds between its clock and the last market step it processed.",
            [query("max(sarathi_sim_engine_lag_seconds)", "engine lag")],
            unit="s",
        ),
        single(
            "Instrument syncs in the time range",
            "The execution service's daily instrument sync, by result.",
            [
                query(
                    increase("sarathi_execution_instrument_syncs_total", "result", "$__range"),
                    "{{result}}",
                    instant=True,
                )
            ],
            span=12,
            height=8,
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
    ]
    return dashboard(
        "sarathi-system-health",
        "Sarathi · System health",
        "Is every service up and ready, is the market feed fresh, is the broker session sound.",
        "now-6h",
        [
            ("Services", services),
            ("Market feed", feed),
            ("Broker session (orders)", broker),
            ("Loops and warm-up", loops),
        ],
    )


# ---- trading ----------------------------------------------------------------------------------


def trading() -> Dashboard:
    states = value_map(*((index, state, color) for index, (state, color) in enumerate(TRADING_STATES)))
    net = 'sarathi_risk_day_pnl_inr{basis="net"}'
    gross = 'sarathi_risk_day_pnl_inr{basis="gross"}'
    loss_used = f"clamp_min(-{net}, 0) / ignoring(basis) sarathi_risk_daily_loss_limit_inr"
    now = [
        single(
            "Trading state",
            "ACTIVE trades; PAUSED takes no new entries; HALTED flattens and stays flat; RECONCILING "
            "waits for orders' start-up reconciliation.",
            [query(trading_state_code(), instant=True)],
            span=4,
            steps=((None, "text"),),
            mappings=states,
        ),
        single(
            "Open positions",
            "Positions risk manages: OPEN, and CLOSING (an exit sent, not yet confirmed flat).",
            [
                query(
                    'sum by (status) (sarathi_risk_positions_count{status!="CLOSED"})',
                    "{{status}}",
                    instant=True,
                )
            ],
            span=4,
            steps=((None, "blue"),),
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
        single(
            "Day P&L, gross",
            "Today's realized plus open P&L, before charges.",
            [query(f"sum({gross})", instant=True)],
            unit=INR,
            span=4,
            steps=((None, "red"), (0, "green")),
        ),
        single(
            "Day P&L, net of charges",
            "Today's P&L after brokerage, taxes and fees: what the daily loss limit is checked on.",
            [query(f"sum({net})", instant=True)],
            unit=INR,
            span=4,
            steps=((None, "red"), (0, "green")),
        ),
        single(
            "Daily loss limit used",
            "Today's net loss as a share of the daily loss limit; at 100 % risk halts and flattens.",
            [query(loss_used, instant=True)],
            unit="percentunit",
            span=4,
            steps=((None, "green"), (0.5, "orange"), (DAILY_LOSS_NEAR_RATIO, "red")),
        ),
        single(
            "Entries of the current campaign",
            "Entry plus pyramids held per underlying (at most 3).",
            [
                query(
                    "max by (underlying) (sarathi_execution_open_entries_count)",
                    "{{underlying}}",
                    instant=True,
                )
            ],
            span=4,
            steps=((None, "blue"),),
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
        statetimeline.Panel()
        .title("Trading state over time")
        .description("The control KV's trading state, as risk last wrote it.")
        .datasource(DATASOURCE)
        .targets(targets([query(trading_state_code(), "state")]))
        .mappings(states)
        .thresholds(thresholds((None, "text")))
        .show_value(VisibilityMode.AUTO)
        .merge_values(True)
        .row_height(0.9)
        .span(24)
        .height(4),
    ]
    pnl = [
        graph(
            "Day P&L and the loss limit",
            "Gross and net of charges; the lower line is minus the daily loss limit.",
            [
                query(f"sum({gross})", "gross"),
                query(f"sum({net})", "net"),
                query("-max(sarathi_risk_daily_loss_limit_inr)", "loss limit"),
            ],
            unit=INR,
        ),
        graph(
            "Open positions' P&L",
            "Each open position's P&L at its last price, gross and net of charges.",
            [query("sarathi_risk_position_pnl_inr", "{{security_id}} {{basis}}")],
            unit=INR,
        ),
        graph(
            "High-water marks of armed trails",
            "The best P&L of each position whose trailing lock is armed; the exit fires 5 % below it.",
            [query("sarathi_risk_position_hwm_inr", "{{security_id}}")],
            unit=INR,
        ),
        graph(
            "Positions by status",
            "Positions risk tracks today, by status.",
            [query("sum by (status) (sarathi_risk_positions_count)", "{{status}}")],
        ),
    ]
    exits = [
        graph(
            "Exits by reason",
            "Exit commands risk sent: trailing stop, target, stop-loss, square-off, stale price, daily "
            "loss, operator flatten or kill.",
            [query(increase("sarathi_risk_exits_total", "reason"), "{{reason}}")],
            bars=True,
        ),
        single(
            "Exits in the time range, by reason",
            "Exit commands over the dashboard's time range.",
            [query(increase("sarathi_risk_exits_total", "reason", "$__range"), "{{reason}}", instant=True)],
            height=8,
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
        single(
            "Trail and limit events in the time range",
            "Trailing locks armed, exits re-sent while still open, daily loss breaches.",
            [
                query(
                    "sum(increase(sarathi_risk_trails_armed_total[$__range]))", "trails armed", instant=True
                ),
                query(
                    "sum(increase(sarathi_risk_exit_resends_total[$__range]))", "exit re-sends", instant=True
                ),
                query(
                    "sum(increase(sarathi_risk_daily_loss_breaches_total[$__range]))",
                    "daily loss breaches",
                    instant=True,
                ),
            ],
            height=8,
            steps=((None, "blue"),),
            text=BigValueTextMode.VALUE_AND_NAME,
        ),
    ]
    entries = [
        graph(
            "Trend decisions by direction",
            "signals: one decision per underlying per closed 5-minute bar.",
            [
                query(
                    increase("sarathi_signals_decisions_total", "underlying, direction"),
                    "{{underlying}} {{direction}}",
                )
            ],
            bars=True,
        ),
        graph(
            "Entry decisions by outcome and gate",
            "execution: signals that became entry commands, and those a gate refused.",
            [query(increase("sarathi_execution_decisions_total", "outcome, gate"), "{{outcome}} {{gate}}")],
            bars=True,
        ),
    ]
    orders = [
        graph(
            "Order placements by outcome",
            "placed, rejected by Dhan, unknown (resolved by correlation id), not sent, retried.",
            [query(increase("sarathi_orders_orders_total", "outcome"), "{{outcome}}")],
            span=8,
            bars=True,
        ),
        graph(
            "Rejections by Dhan code",
            "Orders Dhan refused, or that could not be sent, by Dhan's error code.",
            [query(increase(f"sarathi_orders_orders_total{{outcome=~{REJECTED}}}", "reason"), "{{reason}}")],
            span=8,
            bars=True,
        ),
        graph(
            "Fills by source",
            "Fills recorded from the order-update socket, or found by reconciliation.",
            [query(increase("sarathi_orders_fills_total", "source"), "{{source}}")],
            span=8,
            bars=True,
        ),
        graph(
            "Commands by kind and outcome",
            "Submit, exit and cancel commands orders handled.",
            [query(increase("sarathi_orders_commands_total", "kind, outcome"), "{{kind}} {{outcome}}")],
            span=16,
            bars=True,
        ),
        single(
            "Short positions (broken invariant)",
            "Fills that netted a contract below zero in the time range. Must stay 0.",
            [query("sum(increase(sarathi_orders_short_positions_total[$__range]))", instant=True)],
            span=8,
            height=8,
            steps=((None, "green"), (1, "red")),
        ),
    ]
    return dashboard(
        "sarathi-trading",
        "Sarathi · Trading",
        "Trading state, positions and P&L, trailing stops, exits, signals, entries and orders.",
        "now/d",
        [
            ("Now", now),
            ("P&L", pnl),
            ("Exits", exits),
            ("Signals and entries", entries),
            ("Orders", orders),
        ],
    )


# ---- latency ----------------------------------------------------------------------------------

# The stages of a trade, in order: (histogram, legend).
STAGES = (
    ("sarathi_feed_lag_seconds", "1 tick → NATS"),
    ("sarathi_signals_decision_seconds", "2 bar close → signal"),
    ("sarathi_execution_decision_seconds", "3 signal → command"),
    ("sarathi_orders_placement_seconds", "4 command → broker"),
    ("sarathi_orders_time_to_fill_seconds", "5 order → fill"),
)


def latency() -> Dashboard:
    summary = [
        single(
            "p99 over the time range, by stage",
            "Each stage's 99th percentile over the dashboard's time range. Stages 1 and 5 are measured "
            "on the mode's clock (market time in sim), 2 to 4 in wall time.",
            [p99_over_range(metric, legend) for metric, legend in STAGES],
            unit="s",
            span=24,
            steps=((None, "green"), (1, "orange"), (5, "red")),
            text=BigValueTextMode.VALUE_AND_NAME,
        )
    ]
    stages = [
        graph(
            "1 · Tick: exchange time → published on NATS (feed)",
            "From the exchange time of the newest tick in a batch to its publication.",
            quantiles("sarathi_feed_lag_seconds"),
            unit="s",
        ),
        graph(
            "2 · Bar close → signal published (signals)",
            "A closed 5-minute bar published, decided on, stored, and its signal published.",
            quantiles("sarathi_signals_decision_seconds"),
            unit="s",
        ),
        graph(
            "3 · Signal → entry command published (execution)",
            "A signal received, gated, its strike chosen and sized, the decision stored and the "
            "SubmitEntry command published.",
            quantiles("sarathi_execution_decision_seconds"),
            unit="s",
        ),
        graph(
            "4 · Command → the broker's answer (orders)",
            "From the first send of a command's order to a known outcome (accepted, rejected, not sent), "
            "resolutions of unknown outcomes and retries included.",
            quantiles("sarathi_orders_placement_seconds"),
            unit="s",
        ),
        graph(
            "5 · Order accepted → fill (orders, market time)",
            "From our entry or exit order's acceptance to each of its fills, by leg. A LIMIT entry also "
            "waits for its price.",
            quantiles("sarathi_orders_time_to_fill_seconds", by=("leg",)),
            unit="s",
        ),
        graph(
            "Risk loop lateness (market time)",
            "How late each 5-second check of the open positions started.",
            quantiles("sarathi_risk_loop_lateness_seconds"),
            unit="s",
        ),
    ]
    throughput = [
        graph(
            "Events per second, by stage",
            "How often each stage ran: tick batches, bars decided, signals decided, orders placed, fills.",
            [query(f"sum(rate({metric}_count[{RATE}]))", legend) for metric, legend in STAGES],
        ),
        graph(
            "Wait behind our rate limits, by category",
            "How long broker calls queued behind Dhan's rate limits, enforced on our side.",
            quantiles("sarathi_orders_rate_limit_wait_seconds", by=("category",)),
            unit="s",
        ),
    ]
    return dashboard(
        "sarathi-latency",
        "Sarathi · Latency",
        "Tick → signal → order → fill, stage by stage (p50, p90, p99).",
        "now-6h",
        [("Summary", summary), ("Stage by stage", stages), ("Throughput and queues", throughput)],
    )


# ---- output -----------------------------------------------------------------------------------

DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "system-health": system_health,
    "trading": trading,
    "latency": latency,
}


def render(builder: Dashboard) -> str:
    """The dashboard as Grafana JSON: sorted keys, two-space indents, a trailing newline."""
    return JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False).encode(builder.build()) + "\n"


def generated() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    return {f"{name}.json": render(make()) for name, make in DASHBOARDS.items()}


def differences(directory: Path = DASHBOARDS_DIR) -> list[str]:
    """What differs between a fresh generation and the files in `directory`, one line per file."""
    found: list[str] = []
    expected = generated()
    for name, text in expected.items():
        path = directory / name
        if not path.exists():
            found.append(f"{name}: missing")
            continue
        current = path.read_text(encoding="utf-8")
        if current != text:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(), lineterm="", n=0)
            changed = sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
            found.append(f"{name}: {changed} lines differ")
    found += [
        f"{path.name}: not generated by generate.py"
        for path in sorted(directory.glob("*.json"))
        if path.name not in expected
    ]
    return found


def write(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate Sarathi's Grafana dashboards.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in JSON is stale")
    parser.add_argument("--directory", type=Path, default=DASHBOARDS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        found = differences(args.directory)
        for line in found:
            sys.stderr.write(f"{line}\n")
        if found:
            sys.stderr.write("dashboards are stale: run `make dashboards`\n")
            return 1
        return 0
    for path in write(args.directory):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
