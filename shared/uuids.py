"""Names derived from other names: version-5 UUIDs as text, as ``str(uuid.uuid5(namespace, name))`` makes them.

A rebuild or a catch-up derives tens of thousands (a timer's id, a delivery's): made here from the SHA-1
digest at once, without the two UUID objects the standard library builds for each, nor the namespace's
bytes converted again each time (``UUID.bytes`` is a property). tests/unit/test_uuids.py compares the two.
"""

import hashlib
import uuid


class Namespace:
    """``uuid.uuid5`` in one namespace, as text."""

    def __init__(self, namespace: uuid.UUID):
        self.namespace, self._bytes = namespace, namespace.bytes

    def __call__(self, name: str) -> str:
        digest = bytearray(hashlib.sha1(self._bytes + name.encode()).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
        digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
        hexed = digest.hex()
        return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
