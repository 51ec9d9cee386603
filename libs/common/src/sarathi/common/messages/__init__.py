"""Bus messages: the envelope, the codec and every command, event and snapshot.

Importing the package registers every message type, so `decode` knows them all.
"""

from sarathi.common.messages import catalog as catalog  # registers every message type
