"""Test support for the sim: serve an app on a free loopback port, and small test doubles."""
