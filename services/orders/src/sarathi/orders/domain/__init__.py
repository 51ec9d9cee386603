"""The orders domain: pure rules, no I/O (no NATS, SQL, HTTP or dhanhq)."""
