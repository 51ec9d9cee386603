"""The feed's pure domain: subscriptions, staleness, backoff, disconnect reasons, tick encoding."""
