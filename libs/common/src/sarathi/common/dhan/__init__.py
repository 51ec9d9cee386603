"""Dhan wire protocols shared by the feed (decoding) and the sim (encoding)."""
