"""sarathi.sim.ws: the market-feed and order-update WebSockets of the emulator."""
