"""`python -m sarathi.risk` / `sarathi-risk`: run the risk service."""

from __future__ import annotations

from sarathi.common.runtime import run_service
from sarathi.risk.app import build_app
from sarathi.risk.settings import RiskSettings


def main() -> None:
    run_service("risk", RiskSettings, build_app)


if __name__ == "__main__":
    main()
