"""sarathi.sim.api."""
