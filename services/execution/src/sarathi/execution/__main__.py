"""`python -m sarathi.execution` / `sarathi-execution`: run the execution service."""

from __future__ import annotations

from sarathi.common.runtime import run_service
from sarathi.execution.app import build_app
from sarathi.execution.settings import ExecutionSettings


def main() -> None:
    run_service("execution", ExecutionSettings, build_app)


if __name__ == "__main__":
    main()
