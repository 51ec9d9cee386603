"""sarathi.risk: per-position P&L, trailing profit lock, daily limits, square-off and the operator API."""
