"""sarathi.signals."""
