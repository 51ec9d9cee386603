"""A sim of its own for `sarathi data download --source sim`: started, used, stopped.

`python -m sarathi.sim` on a free port (as `sarathi run` starts it: the CLI never imports the
sim), no NATS, its clock paused after the last session of the market calendar, so every day the
calendar covers is history; the market anchored at `anchor` so a seed gives the same prices for
a date whatever range is asked; Dhan's rate limits counted in wall seconds (the clock is paused).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sarathi.cli.supervisor import Supervisor
from sarathi.common.domain.calendar import MarketCalendar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sim_env(seed: int, anchor: date) -> dict[str, str]:
    calendar = MarketCalendar()
    last = date(max(calendar.holidays.covered_years), 12, 31)
    if not calendar.is_trading_day(last):
        last = calendar.previous_trading_day(last)
    return {
        "SARATHI_MODE": "sim",
        "SARATHI_SIM_SEED": str(seed),
        "SARATHI_SIM_START": calendar.session_close(last).isoformat(),
        "SARATHI_SIM_START_PAUSED": "true",
        "SARATHI_SIM_ANCHOR_DAY": anchor.isoformat(),
        "SARATHI_SIM_PUBLISH_CLOCK": "false",
        "SARATHI_SIM_RATE_LIMIT_TIME": "wall",
    }


@contextmanager
def own_sim(seed: int, anchor: date, log_dir: Path) -> Iterator[str]:
    """The sim's Dhan REST base URL while it runs."""
    supervisor = Supervisor(env=sim_env(seed, anchor), log_dir=log_dir, ports={"sim": free_port()})
    try:
        supervisor.wait_ready(supervisor.start("sim"), timeout_seconds=60.0)
        yield f"{supervisor.find('sim').base_url}/v2"
    finally:
        supervisor.stop_all()
