"""`python -m sarathi.sim` / `sarathi-sim`: run the sim service.

Like `sarathi.common.runtime.run_service`, but served with the sim's own uvicorn configuration
(Dhan's WebSocket keep-alive: a ping every 10 s), by the same `sarathi.common.web.Server` (which
stops on SIGTERM/SIGINT during start-up too).
"""

from __future__ import annotations

import sys

from pydantic import ValidationError

from sarathi.common.dhan.recording import RecordingError
from sarathi.common.domain.holiday_file import HolidayFileError
from sarathi.common.logging import configure_logging, get_logger
from sarathi.common.web import Server
from sarathi.sim.app import build_app, uvicorn_config
from sarathi.sim.master_reader import MasterFileError
from sarathi.sim.settings import SimSettings
from sarathi.sim.state_store import StateStoreError

log = get_logger(__name__)


def main() -> None:
    try:
        settings = SimSettings()
    except ValidationError as exc:
        sys.stderr.write(f"sarathi-sim: invalid settings:\n{exc}\n")
        raise SystemExit(2) from None
    configure_logging("sim", settings.log_level)
    log.info("starting", mode=settings.mode.value, host=settings.http_host, port=settings.http_port)
    try:
        app = build_app(settings)
    except RecordingError as exc:  # SARATHI_SIM_REPLAY_FILE is empty or not a recording
        sys.stderr.write(f"sarathi-sim: cannot replay: {exc}\n")
        raise SystemExit(2) from None
    except MasterFileError as exc:  # SARATHI_SIM_MASTER_FILE is not a Dhan detailed master
        sys.stderr.write(f"sarathi-sim: cannot load the instrument master: {exc}\n")
        raise SystemExit(2) from None
    except StateStoreError as exc:  # SARATHI_SIM_STATE_DIR holds a state this sim cannot continue
        sys.stderr.write(f"sarathi-sim: cannot restore the sim state: {exc}\n")
        raise SystemExit(2) from None
    except HolidayFileError as exc:  # SARATHI_HOLIDAYS_FILE unreadable or with a bad row
        sys.stderr.write(f"sarathi-sim: {exc}\n")
        raise SystemExit(2) from None
    Server(uvicorn_config(app, settings)).run()  # stops on a signal during start-up too


if __name__ == "__main__":
    main()
