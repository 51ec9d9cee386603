"""Bus messages: the envelope, the codec and every command, event and snapshot."""
