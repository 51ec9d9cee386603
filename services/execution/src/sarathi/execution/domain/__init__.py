"""The pure domain of the execution service: chain filtering and ranking, expiries, gates,
pyramiding state, sizing and tick rounding, command ids.

Nothing here touches NATS, HTTP, a database or the wall clock: time comes in as arguments
(market time from the caller's Clock), prices as `Decimal`.
"""
