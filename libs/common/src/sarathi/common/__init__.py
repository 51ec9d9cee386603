"""sarathi.common: the shared kernel of Sarathi's services."""
