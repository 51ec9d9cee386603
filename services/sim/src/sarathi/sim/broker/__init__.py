"""sarathi.sim.broker: the paper broker."""
