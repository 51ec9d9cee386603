"""The bus (ARCHITECTURE §3): subjects, streams, the `Bus` port and its two adapters.

Services depend on `sarathi.common.bus.port.Bus`; the composition root picks `NatsBus`
(`sarathi.common.bus.nats`) in production and `InMemoryBus` (`sarathi.common.bus.memory`) in unit
tests. Subjects are built only by `sarathi.common.bus.subjects`.
"""
