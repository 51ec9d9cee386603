"""sarathi.cli."""
