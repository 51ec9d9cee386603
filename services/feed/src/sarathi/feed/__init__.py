"""sarathi.feed: Dhan market-feed WebSocket to ticks on NATS; subscriptions, last-tick cache, recorder."""
