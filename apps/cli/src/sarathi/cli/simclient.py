"""The sim's control API (`/sim/...`) and the two Dhan data calls the day needs, over HTTP.

The CLI never imports the sim: it talks to it as any client of a local Dhan would.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx

from sarathi.common.domain.calendar import IST
from sarathi.common.settings import SIM_ACCESS_TOKEN, SarathiSettings

INDEX_IDS = {"NIFTY": 13, "BANKNIFTY": 25, "SENSEX": 51}
SIM_CLIENT_ID: str = SarathiSettings.model_fields["dhan_client_id"].default


class SimClient:
    def __init__(self, base_url: str, timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout_seconds,
            headers={"access-token": SIM_ACCESS_TOKEN, "client-id": SIM_CLIENT_ID},
        )

    def close(self) -> None:
        self._http.close()

    # -- control --------------------------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        return self._ok(self._http.get("/sim/clock"))

    def now(self) -> datetime:
        return datetime.fromisoformat(self.clock()["now"])

    def progress(self) -> dict[str, Any]:
        """How far the sim has stepped, what its broker and feed hold (`sarathi chaos` settles on it)."""
        return self._ok(self._http.get("/sim/progress"))

    def pause(self) -> dict[str, Any]:
        return self._ok(self._http.post("/sim/clock/pause"))

    def resume(self) -> dict[str, Any]:
        return self._ok(self._http.post("/sim/clock/resume"))

    def run_until(self, barrier: datetime | None) -> dict[str, Any]:
        """Stop market time at `barrier` once it gets there (None: run on)."""
        body = {"run_until": None if barrier is None else barrier.isoformat()}
        return self._ok(self._http.post("/sim/clock/run-until", json=body))

    def set_speed(self, speed: Decimal) -> dict[str, Any]:
        """Keep market time where it is and change the speed (the clock restarts from now)."""
        body = {"start": self.now().isoformat(), "speed": str(speed)}
        return self._ok(self._http.post("/sim/clock", json=body))

    def state(self) -> dict[str, Any]:
        return self._ok(self._http.get("/sim/state"))

    def script_index(self, underlying: str, path: list[tuple[float, Decimal]]) -> dict[str, Any]:
        body = {"underlying": underlying, "path": [[s, str(p)] for s, p in path]}
        return self._ok(self._http.post("/sim/scenario", json=body))

    # -- Dhan data ------------------------------------------------------------------------------

    def index_level(self, underlying: str = "NIFTY") -> Decimal | None:
        """The index's last price (`POST /v2/marketfeed/ltp`); None when rate-limited or unknown."""
        security_id = INDEX_IDS[underlying]
        reply = self._http.post("/v2/marketfeed/ltp", json={"IDX_I": [security_id]})
        if reply.status_code != 200:
            return None
        quote = reply.json().get("data", {}).get("IDX_I", {}).get(str(security_id))
        return None if not quote else Decimal(str(quote["last_price"]))

    def index_minutes(self, underlying: str, day: date) -> list[tuple[datetime, Decimal]]:
        """The day's 1-minute closes of the index (`POST /v2/charts/intraday`), up to market-now."""
        body = {
            "securityId": str(INDEX_IDS[underlying]), "exchangeSegment": "IDX_I", "instrument": "INDEX",
            "interval": 1, "fromDate": f"{day} 09:15:00", "toDate": f"{day} 15:30:00",
        }  # fmt: skip
        reply = self._http.post("/v2/charts/intraday", json=body)
        if reply.status_code != 200:
            return []
        data = reply.json()
        stamps, closes = data.get("timestamp", []), data.get("close", [])
        return [
            (datetime.fromtimestamp(float(t), tz=IST), Decimal(str(c)))
            for t, c in zip(stamps, closes, strict=False)
        ]

    @staticmethod
    def _ok(reply: httpx.Response) -> dict[str, Any]:
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body
