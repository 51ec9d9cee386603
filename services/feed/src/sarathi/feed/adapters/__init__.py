"""The feed's edges: the Dhan WebSocket (picows), the NATS tick publisher, the recorder."""
