"""sarathi.execution: Strike selection, pre-trade gates and Super Order entry commands."""
