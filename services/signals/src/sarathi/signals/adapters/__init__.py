"""Adapters of the signals service: Dhan history, the bus, the signal store."""
