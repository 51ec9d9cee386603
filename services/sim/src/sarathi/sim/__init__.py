"""sarathi.sim."""
