"""sarathi.risk: Per-position P&L, trailing profit lock, daily limits, square-off and the operator API."""
