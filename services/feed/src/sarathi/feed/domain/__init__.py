"""The feed's pure domain: subscriptions, staleness, disconnect reasons, tick encoding."""
