"""`python -m sarathi.feed` / `sarathi-feed`: run the feed service."""

from __future__ import annotations

from sarathi.common.runtime import run_service
from sarathi.feed.app import build_app
from sarathi.feed.settings import FeedSettings


def main() -> None:
    run_service("feed", FeedSettings, build_app)


if __name__ == "__main__":
    main()
