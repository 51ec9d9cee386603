"""sarathi.sim.market."""
