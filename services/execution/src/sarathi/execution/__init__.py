"""sarathi.execution: strike selection, pre-trade gates and Super Order entry commands."""
