"""Test support for Sarathi: real-server fixtures (`plugin`) and data builders."""
