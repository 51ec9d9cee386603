"""sarathi.risk."""
