"""sarathi.sim: a local Dhan v2 emulator (REST, market-feed and order-update WebSockets, market model,
paper broker)."""
