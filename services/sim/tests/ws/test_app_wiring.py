"""The composition root: one app serves operations, Dhan REST, both sockets and the control API."""

from __future__ import annotations

from datetime import date, datetime

import httpx

from sarathi.common.clock import IST
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.sim.runtime import default_start
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool

DHAN_HEADERS = {"access-token": TOKEN, "client-id": CLIENT_ID}


def test_the_real_app_serves_operations_rest_and_control_together(sims: SimPool) -> None:
    served = sims.start(real=True)
    with httpx.Client(base_url=served.http_url, timeout=10) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.get("/readyz").status_code == 200
        ltp = http.post("/v2/marketfeed/ltp", json={"IDX_I": [13]}, headers=DHAN_HEADERS).json()
        assert ltp["data"]["IDX_I"]["13"]["last_price"] > 0
        bad_token = {"access-token": "wrong"}
        assert http.get("/v2/orders", headers=bad_token).status_code == 400  # the live answer
        assert "positions" in http.get("/sim/state").json()["broker"]
        metrics = http.get("/metrics").text
    assert "sarathi_sim_engine_steps_total" in metrics
    assert "sarathi_sim_feed_messages_sent_total" in metrics


def test_the_default_start_is_the_next_session_open_from_the_start_date() -> None:
    calendar = MarketCalendar()
    assert default_start(calendar, date(2026, 9, 15)) == datetime(2026, 9, 15, 9, 15, tzinfo=IST)  # a Tuesday
    assert default_start(calendar, date(2026, 9, 19)) == datetime(2026, 9, 21, 9, 15, tzinfo=IST)  # Saturday
