"""sarathi.feed."""
