"""`python -m sarathi.orders` / `sarathi-orders`: run the orders service."""

from __future__ import annotations

from sarathi.common.runtime import run_service
from sarathi.orders.app import build_app
from sarathi.orders.settings import OrdersSettings


def main() -> None:
    run_service("orders", OrdersSettings, build_app)


if __name__ == "__main__":
    main()
