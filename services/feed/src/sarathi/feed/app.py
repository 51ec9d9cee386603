"""Composition root of the feed service: builds everything from settings, connects nothing at import."""

from __future__ import annotations

from fastapi import FastAPI

from sarathi.common.runtime import build_service_app
from sarathi.feed.settings import FeedSettings


def build_app(settings: FeedSettings) -> FastAPI:
    app, _ = build_service_app(
        service="feed",
        settings=settings,
        database=False,
        description="Dhan market-feed WebSocket to ticks on NATS; subscriptions, last-tick cache, recorder.",
    )
    return app
