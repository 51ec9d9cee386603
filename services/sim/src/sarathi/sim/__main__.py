"""`python -m sarathi.sim` / `sarathi-sim`: run the sim service."""

from __future__ import annotations

from sarathi.common.runtime import run_service
from sarathi.sim.app import build_app
from sarathi.sim.settings import SimSettings


def main() -> None:
    run_service("sim", SimSettings, build_app)


if __name__ == "__main__":
    main()
