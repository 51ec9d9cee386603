"""Adapters of the execution service: Dhan's option chain, the Derivative table, the control KV,
the feed's tick snapshot, the decision store and the pyramiding book's snapshot."""
