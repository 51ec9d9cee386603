"""Where the feed's access token comes from at each connection attempt."""

from __future__ import annotations

from pathlib import Path

from sarathi.feed.app import FeedToken, feed_url
from sarathi.feed.settings import FeedSettings


def test_the_token_file_wins_over_the_setting_and_an_empty_or_missing_file_falls_back(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    settings = FeedSettings(dhan_access_token="from-settings", dhan_access_token_file=token_file)

    def current_token(settings: FeedSettings) -> str:  # a feed started afresh each time
        return FeedToken(settings).current()

    assert current_token(settings) == "from-settings"  # missing file
    token_file.write_text("\n")
    assert current_token(settings) == "from-settings"  # empty file
    token_file.write_text("  renewed  \nsecond line\n")
    assert current_token(settings) == "renewed"
    assert "token=renewed" in feed_url(settings, current_token(settings))
