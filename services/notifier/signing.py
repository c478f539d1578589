"""Standard Webhooks signatures (S5): ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signature is HMAC-SHA256 over ``"{id}.{timestamp}.{body}"``, base64, prefixed ``v1,``. Every
valid secret signs, space-separated, so a receiver holding either the old or the new secret
verifies a message during a rotation.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from datetime import datetime

PREFIX = "whsec_"
# Standard Webhooks secrets are 24 to 64 random bytes, base64 encoded.
SHAPE = re.compile(r"^(whsec_)?[A-Za-z0-9+/]{32,88}={0,2}$")


def decode(secret: str) -> bytes:
    """The key bytes of a ``whsec_…`` secret; ValueError when it is not one."""
    if not SHAPE.match(secret):
        raise ValueError("a signing secret is whsec_ followed by 24 to 64 bytes in base64")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"a signing secret must be base64: {exc}") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("a signing secret is 24 to 64 bytes")
    return key


def generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(keys: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(decode(key), signed, hashlib.sha256).digest()).decode() for key in keys
    )


def headers(keys: list[str], msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    timestamp = int(at.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(keys, msg_id, timestamp, body),
    }
