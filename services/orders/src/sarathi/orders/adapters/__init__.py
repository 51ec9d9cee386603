"""Adapters of the orders service: Dhan, PostgreSQL, the bus, the order-update socket."""
