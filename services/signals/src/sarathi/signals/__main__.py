"""`python -m sarathi.signals` / `sarathi-signals`: run the signals service."""

from __future__ import annotations

from sarathi.common.runtime import run_service
from sarathi.signals.app import build_app
from sarathi.signals.settings import SignalsSettings


def main() -> None:
    run_service("signals", SignalsSettings, build_app)


if __name__ == "__main__":
    main()
