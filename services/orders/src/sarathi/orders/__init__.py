"""sarathi.orders: The broker gateway: exactly-once orders, order updates, reconciliation."""
