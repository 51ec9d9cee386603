"""A real sim process with a state directory, SIGKILLed and started again with the same settings.

The official `dhanhq` client places a super order (and a resting order) over REST; after the
kill the new process answers the same order book, super orders, positions, trades and funds,
and its clock resumes where market time stood (never earlier than what the broker had seen).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from dhanhq import DhanContext, dhanhq

from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.sim.state_store import CURRENT
from sarathi.sim.universe_builder import UniverseParams, build_universe

CLIENT_ID, TOKEN = "1000000001", "sim-token"
DAY = date(2026, 9, 15)
START = "2026-09-15T10:00:00+05:30"
STARTUP_SECONDS = 60.0
TICK = Decimal("0.05")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SimProcess:
    """`python -m sarathi.sim` with a state directory; `kill()` is SIGKILL."""

    state_dir: Path
    speed: int = 10
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SARATHI_")}
        return env | {
            "SARATHI_SIM_HTTP_PORT": str(self.port),
            "SARATHI_SIM_PUBLISH_CLOCK": "false",
            "SARATHI_SIM_START": START,
            "SARATHI_SIM_SPEED": str(self.speed),
            "SARATHI_SIM_STATE_DIR": str(self.state_dir),
            "SARATHI_LOG_LEVEL": "WARNING",
        }

    def start(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sarathi.sim"],
            env=self.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                raise AssertionError(f"sim exited {self.process.returncode}: {err.decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)  # the port is not listening yet: the process is still starting
        raise AssertionError("the sim did not answer /healthz in time")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", headers={"access-token": TOKEN}, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str) -> Any:
        response = httpx.post(f"{self.url}{path}", timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def books(self) -> dict[str, Any]:
        return {
            "orders": self.get("/v2/orders"),
            "super": self.get("/v2/super/orders"),
            "positions": self.get("/v2/positions"),
            "trades": self.get("/v2/trades"),
            "funds": self.get("/v2/fundlimit"),
        }

    def market_now(self) -> datetime:
        return datetime.fromisoformat(self.get("/sim/clock")["now"])

    def client(self) -> dhanhq:
        dhan = dhanhq(DhanContext(CLIENT_ID, TOKEN))
        dhan.dhan_http.base_url = f"{self.url}/v2"
        return dhan


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    process = SimProcess(tmp_path / "sim-state")
    try:
        yield process
    finally:
        process.stop()


def a_nifty_call() -> str:
    """A NIFTY call near the money of the sim's (deterministic) universe of the day."""
    universe = build_universe(DAY, MarketCalendar(), UniverseParams(strikes_each_side=10))
    calls = [o for o in universe.options(Underlying.NIFTY) if o.option_type is OptionType.CALL]
    return calls[len(calls) // 2].security_id


def on_tick(value: Decimal, rounding: str) -> float:
    return float((value / TICK).to_integral_value(rounding=rounding) * TICK)


def without_ltp(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_ltp(v) for k, v in value.items() if k != "ltp"}
    if isinstance(value, list):
        return [without_ltp(v) for v in value]
    return value


def ist(text: str) -> datetime:
    """Dhan's `YYYY-MM-DD HH:MM:SS` (IST) as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=IST)


def wait_until(predicate: Any, limit_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + limit_seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)  # polling another process over HTTP: nothing to wait on but its answers


def a_filled_super_order_and_a_resting_order(sim: SimProcess) -> str:
    dhan = sim.client()
    call = a_nifty_call()
    quote = dhan.ticker_data({"NSE_FNO": [int(call)]})["data"]["data"]["NSE_FNO"][call]
    ltp = Decimal(str(quote["last_price"]))
    placed = dhan.place_super_order(
        call, "NSE_FNO", "BUY", 65, "LIMIT", "INTRADAY", on_tick(ltp * Decimal("1.05"), ROUND_CEILING),
        targetPrice=on_tick(ltp * 3, ROUND_CEILING), stopLossPrice=on_tick(ltp / 3, ROUND_FLOOR),
        tag="keep-1",
    )  # fmt: skip
    assert placed["status"] == "success", placed
    order_id = placed["data"]["orderId"]
    wait_until(lambda: dhan.get_order_by_id(order_id)["data"]["orderStatus"] == "TRADED")
    resting = dhan.place_order(
        security_id=call, exchange_segment="NSE_FNO", transaction_type="BUY", quantity=65,
        order_type="LIMIT", product_type="INTRADAY", price=on_tick(ltp / 4, ROUND_FLOOR), tag="rest-1",
    )  # fmt: skip
    assert resting["status"] == "success", resting
    rest_id = resting["data"]["orderId"]
    wait_until(lambda: dhan.get_order_by_id(rest_id)["data"]["orderStatus"] == "PENDING")
    return str(order_id)


def test_a_sigkilled_sim_comes_back_with_the_same_books_and_the_clock_where_it_stood(sim: SimProcess) -> None:
    sim.start()
    order_id = a_filled_super_order_and_a_resting_order(sim)
    sim.post("/sim/clock/pause")
    before, paused_at = sim.books(), sim.market_now()
    assert any(p["netQty"] == 65 for p in before["positions"])

    sim.kill()
    sim.start()

    assert sim.books() == before
    assert sim.get("/sim/clock")["paused"] is True
    assert sim.market_now() == paused_at
    again = sim.client().get_order_by_id(order_id)["data"]
    assert again["orderStatus"] == "TRADED"
    sim.post("/sim/clock/resume")
    third = sim.client().place_order(
        security_id=a_nifty_call(), exchange_segment="NSE_FNO", transaction_type="BUY", quantity=65,
        order_type="LIMIT", product_type="INTRADAY", price=1.0, tag="after-1",
    )  # fmt: skip
    assert third["data"]["orderId"] not in {o["orderId"] for o in before["orders"]}  # ids go on


def test_a_sim_killed_while_its_clock_runs_keeps_every_order_and_never_goes_back_in_time(
    sim: SimProcess,
) -> None:
    sim.start()
    a_filled_super_order_and_a_resting_order(sim)
    before = sim.books()
    last_event = max(ist(order["updateTime"]) for order in before["orders"])

    sim.kill()
    sim.start()

    after = sim.books()
    assert after["orders"] == before["orders"]
    assert after["trades"] == before["trades"]
    assert without_ltp(after["super"]) == without_ltp(before["super"])  # the market moved on
    assert [(p["securityId"], p["netQty"], p["buyAvg"]) for p in after["positions"]] == [
        (p["securityId"], p["netQty"], p["buyAvg"]) for p in before["positions"]
    ]
    assert sim.market_now() >= last_event


def test_a_state_directory_with_no_good_snapshot_stops_the_sim_with_a_clear_error(sim: SimProcess) -> None:
    sim.start()
    a_filled_super_order_and_a_resting_order(sim)
    sim.kill()
    for snapshot in sim.state_dir.iterdir():
        snapshot.write_bytes(b"{torn")
    sim.port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "sarathi.sim"],
        env=sim.environment(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert b"cannot restore the sim state" in result.stderr
    assert CURRENT.encode() in result.stderr
    assert b"Traceback" not in result.stderr
