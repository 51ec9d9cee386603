"""sarathi.orders."""
