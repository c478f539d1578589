"""Secrets at rest (S11): values that carry someone's credentials — a person's Apprise URLs, the process's
webhook URLs (a level's ``chat_webhook_url``, ``issue_tracker_webhook``) — are stored and published sealed,
never in plaintext: in the incident service's events, on JetStream, in every service's tables.

A sealed value is the string ``fernet:`` followed by a Fernet token (``cryptography``: AES-128-CBC with an
HMAC-SHA256, https://github.com/fernet/spec) made under ``WARROOM_SECRETS_KEYS``: comma-separated Fernet keys
(``python -m shared.sealing`` prints a new one), the same on the services that read the plaintext (the
incident service shows it to admins and the person, the notifier delivers to it). The first key seals; every
key opens, so a key is rotated by listing the new one first and keeping the old one after it as long as
values sealed under it are stored (events are never rewritten, R18).

Any other string is a value stored before sealing existed (legacy plaintext): it opens as itself.
"""

import hashlib
import sys
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"
SETTING = "WARROOM_SECRETS_KEYS"


class SecretsUnavailable(Exception):
    """A secret cannot be sealed or opened here: no key is configured, or none of them opens it."""


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def fingerprint(value: str) -> str:
    """A short name for a sealed value that says nothing of it (the notifier's endpoint health)."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def new_key() -> str:
    return Fernet.generate_key().decode()


def keys_of(setting: str) -> list[str]:
    return [key.strip() for key in setting.split(",") if key.strip()]


class Sealer:
    """Seals and opens secrets under the configured keys (none: sealing refuses, legacy plaintext opens)."""

    def __init__(self, keys: Iterable[str] | str = ()):
        listed = keys_of(keys) if isinstance(keys, str) else [key for key in keys if key]
        try:
            self._fernet = MultiFernet([Fernet(key) for key in listed]) if listed else None
        except ValueError as exc:  # a key that is not 32 url-safe base64-encoded bytes
            raise ValueError(f"{SETTING}: every key must be a Fernet key (python -m shared.sealing): {exc}") from None

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def seal(self, value: str) -> str:
        """``value`` sealed (a value sealed already is kept as it is)."""
        if is_sealed(value):
            return value
        if self._fernet is None:
            raise SecretsUnavailable(f"no key to seal secrets with: {SETTING} is not set on this service")
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        """The plaintext of a sealed ``value``; a legacy plaintext value as it is."""
        if not is_sealed(value):
            return value
        if self._fernet is None:
            raise SecretsUnavailable(f"a sealed secret cannot be opened: {SETTING} is not set on this service")
        try:
            return self._fernet.decrypt(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise SecretsUnavailable(f"no key of {SETTING} opens this sealed secret (was a key removed?)") from None


if __name__ == "__main__":
    sys.stdout.write(new_key() + "\n")
