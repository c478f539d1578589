"""Signed links: a URL that is its own credential, for one thing, until it expires.

Notifications carry them so a person can open the post-mortem report or acknowledge a page from a
phone, without an API token (S1's one exception besides the sign-in page and the rules page). A
link's value is ``{payload}.{mac}``, both base64url without padding: the payload is canonical JSON
(sorted one-letter keys, no spaces, so a link stays short enough for a phone's lock screen) naming
what the link is for (``k``: its kind), the incident (``i``), the person it was made for (``p``),
the page it answers (``s``, the paging event's sequence; acknowledge links only) and when it
expires (``e``, Unix seconds); the mac is HMAC-SHA256 over a fixed prefix and the payload.

Keys come from ``WARROOM_LINK_SECRETS`` (comma-separated), set identically on every service: the
first signs, every one verifies, so during a rotation the new secret goes first and the old one
stays listed until the links it signed have expired (``WARROOM_LINK_TTL``, default seven days).
Without secrets no link is signed and none verifies: notifications then carry only the incident's
console address, and every service logs that once at start.

Pure, but for that one log line.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import durations, logs
from shared.settings import Settings

# Every service serves its signed links under this path, which needs no token (shared.ratelimit).
PATH_PREFIX = "/links/"
REPORT = "report"
ACKNOWLEDGE = "acknowledge"
KINDS = frozenset({REPORT, ACKNOWLEDGE})
# A secret shorter than this is a password someone typed, not a key: refused at start.
MIN_SECRET_LENGTH = 32
# Far longer than any link this module makes: anything longer is refused before it is decoded.
MAX_VALUE_LENGTH = 1024
# Binds a mac to this scheme and version: no other HMAC made with the same secret can pass as a link.
_DOMAIN = b"warroom-link.v1."


class LinkRefused(Exception):
    """A link that opens nothing: ``reason`` is "malformed", "forged", "expired" or "wrong_kind"."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link names: for what, which incident, made for whom, and until when."""

    kind: str
    incident: str
    person: str
    expires: datetime
    page: int | None = None  # acknowledge links: the sequence of the event that paged ``person``


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_secrets(text: str) -> list[str]:
    """The comma-separated secrets of ``WARROOM_LINK_SECRETS``; ValueError naming a short one."""
    listed = [item.strip() for item in text.split(",") if item.strip()]
    for position, secret in enumerate(listed, 1):
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"WARROOM_LINK_SECRETS: secret {position} has {len(secret)} characters; a link secret needs at "
                f"least {MIN_SECRET_LENGTH} random ones (for example: openssl rand -base64 32)"
            )
    return listed


class LinkSigner:
    """Signs with the first secret, verifies with any of them (constant-time comparisons)."""

    def __init__(self, secrets: Sequence[str], ttl: timedelta):
        if not secrets:
            raise ValueError("a link signer needs at least one secret")
        self._keys = [secret.encode() for secret in secrets]
        self.ttl = ttl

    @classmethod
    def from_settings(cls, settings: Settings) -> "LinkSigner | None":
        """The signer the settings describe, or None when no secret is set (links are then left out)."""
        listed = parse_secrets(settings.link_secrets)
        try:
            ttl = durations.parse(settings.link_ttl)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"WARROOM_LINK_TTL must be an ISO 8601 duration such as P7D: {exc}") from None
        return cls(listed, ttl) if listed else None

    def sign(self, kind: str, incident: str, person: str, now: datetime, page: int | None = None) -> str:
        """A link value for ``kind`` on ``incident``, made for ``person``, valid for the TTL from ``now``."""
        if kind not in KINDS:
            raise ValueError(f"unknown link kind {kind!r}")
        claims: dict[str, Any] = {"k": kind, "i": incident, "p": person, "e": int((now + self.ttl).timestamp())}
        if page is not None:
            claims["s"] = page
        payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(self._keys[0], payload))}"

    def verify(self, value: str, kind: str, now: datetime) -> LinkClaims:
        """The claims of a link made by one of the secrets for ``kind`` and not yet expired; else LinkRefused."""
        payload, mac = self._split(value)
        if not any(hmac.compare_digest(self._mac(key, payload), mac) for key in self._keys):
            raise LinkRefused("forged", "this link was not made by Warroom, or it was changed on the way")
        claims = self._claims(payload)
        if claims.kind != kind:
            raise LinkRefused("wrong_kind", f"this link opens a {claims.kind.replace('_', ' ')}, not this page")
        if claims.expires <= now:
            raise LinkRefused("expired", f"this link expired at {claims.expires:%Y-%m-%d %H:%M} UTC")
        return claims

    @staticmethod
    def _mac(key: bytes, payload: str) -> bytes:
        return hmac.new(key, _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()

    @staticmethod
    def _split(value: str) -> tuple[str, bytes]:
        malformed = LinkRefused("malformed", "this is not a whole Warroom link: was it cut short when copied?")
        if len(value) > MAX_VALUE_LENGTH or value.count(".") != 1 or not value.isascii():
            raise malformed
        payload, mac = value.split(".")
        try:
            return payload, _unb64(mac)
        except (binascii.Error, ValueError):
            raise malformed from None

    @staticmethod
    def _claims(payload: str) -> LinkClaims:
        """Only a payload whose mac verified is read: it is ours, so a failure here is a bug, said plainly."""
        try:
            claims = json.loads(_unb64(payload))
            return LinkClaims(
                kind=str(claims["k"]),
                incident=str(claims["i"]),
                person=str(claims["p"]),
                expires=datetime.fromtimestamp(int(claims["e"]), UTC),
                page=int(claims["s"]) if claims.get("s") is not None else None,
            )
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
            raise LinkRefused("malformed", "this link's content cannot be read") from None


def signer(settings: Settings, service: str) -> LinkSigner | None:
    """The service's signer; without secrets, one warning now rather than a silent notification later."""
    made = LinkSigner.from_settings(settings)
    if made is None:
        logs.get(__name__).warning(
            "no_link_secrets",
            service=service,
            detail="WARROOM_LINK_SECRETS is unset: notifications carry no report or acknowledge link, "
            "and no signed link opens",
        )
    return made


def incident_url(public_url: str, incident_id: str) -> str:
    """The incident's page in the console the incident service serves."""
    return f"{public_url.rstrip('/')}/incidents/{incident_id}"


def acknowledge_url(public_url: str, value: str) -> str:
    return f"{public_url.rstrip('/')}{PATH_PREFIX}{ACKNOWLEDGE}/{value}"


def report_url(postmortem_url: str, value: str) -> str:
    return f"{postmortem_url.rstrip('/')}{PATH_PREFIX}{REPORT}/{value}"
