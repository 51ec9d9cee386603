"""sarathi.orders: the broker gateway: exactly-once orders, order updates, reconciliation."""
