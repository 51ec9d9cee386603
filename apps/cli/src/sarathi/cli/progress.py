"""The live progress line of a simulated day: market time, NIFTY, open positions, P&L, orders.

One `Sample` per poll, from the sim (`/sim/state`: clock and the broker's order book; the NIFTY
quote) and risk's operator API (`/pnl`). On a terminal the line is rewritten in place; elsewhere
(CI logs) one line is printed every `plain_every_seconds` of market time.

The P&L shown is risk's `/pnl` net, never computed here: risk and the day's report count it with
the same function (`sarathi.common.domain.pnl.trade_pnl`), so the line at the close and the report
agree to the paisa.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from sarathi.cli.control import ControlClient, ControlError
from sarathi.cli.simclient import SimClient
from sarathi.cli.terminal import LiveLine
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import format_inr


@dataclass(frozen=True, slots=True)
class Sample:
    market_time: datetime
    nifty: Decimal | None
    open_positions: int
    pnl_net: Decimal | None
    orders: int
    state: str  # the risk trading state (ACTIVE, PAUSED, HALTED) or "?" when not known


def take_sample(sim: SimClient, risk: ControlClient | None, last: Sample | None = None) -> Sample:
    broker = sim.state()
    now = datetime.fromisoformat(broker["clock"]["now"])
    orders = [
        o for o in broker["broker"]["orders"] if o.get("legName") not in ("TARGET_LEG", "STOP_LOSS_LEG")
    ]
    open_positions = sum(1 for p in broker["broker"]["positions"] if int(p["netQty"]) != 0)
    pnl: dict[str, Any] = {}
    state = last.state if last else "?"
    if risk is not None:
        try:
            pnl = risk.get("/pnl")
            state = risk.get("/state")["state"]
        except (ControlError, httpx.HTTPError):
            pnl = {}
    nifty = sim.index_level("NIFTY")
    if nifty is None and last is not None:
        nifty = last.nifty  # the quote API admits one call a second: keep the last level
    return Sample(
        market_time=now,
        nifty=nifty,
        open_positions=open_positions,
        pnl_net=Decimal(pnl["net"]) if "net" in pnl else (last.pnl_net if last else None),
        orders=len(orders),
        state=state,
    )


def render(sample: Sample, wall_seconds: float) -> str:
    nifty = "-" if sample.nifty is None else f"{sample.nifty:,.2f}"
    pnl = "-" if sample.pnl_net is None else format_inr(sample.pnl_net)
    return (
        f"{sample.market_time.astimezone(IST):%H:%M:%S} IST  NIFTY {nifty:>9}  open {sample.open_positions}  "
        f"P&L (net) {pnl:>10}  orders {sample.orders:>3}  {sample.state:<6}  wall {wall_seconds:5.1f}s"
    )


class ProgressLine:
    """Writes samples as one live line on a terminal, or a plain line every so often otherwise."""

    def __init__(self, plain_every_seconds: float = 1800.0, tty: bool | None = None) -> None:
        self._line = LiveLine(tty)
        self._every = plain_every_seconds
        self._last_plain: datetime | None = None

    def show(self, sample: Sample, wall_seconds: float) -> None:
        text = render(sample, wall_seconds)
        if self._line.tty:
            self._line.show(text)
            return
        due = (
            self._last_plain is None or (sample.market_time - self._last_plain).total_seconds() >= self._every
        )
        if due:
            self._last_plain = sample.market_time
            print(f"  {text}", flush=True)

    def done(self) -> None:
        if self._line.tty:
            print(flush=True)  # the last sample stays on screen
