"""Adapters of the risk service: PostgreSQL, the feed's request/reply, the control KV."""
