"""sarathi.execution."""
