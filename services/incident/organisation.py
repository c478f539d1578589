"""The organisation's aggregates: people, tokens and who holds which, the process, the SME directory, minor reports.

Stored events carry this module's path in their topic (``services.incident.organisation:…``);
``tests/unit/test_incident_stored_topics.py`` proves events stored under it still load.
"""

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.incident.copying import CheapCopy

PROCESS_ID = uuid5(NAMESPACE_URL, "warroom:process")
DIRECTORY_ID = uuid5(NAMESPACE_URL, "warroom:directory")
ADMIN_ID = uuid5(NAMESPACE_URL, "warroom:admin")
ADMIN_CREDENTIAL_ID = uuid5(NAMESPACE_URL, "warroom:admin-credential")
TOKEN_INDEX_ID = uuid5(NAMESPACE_URL, "warroom:token-index")

# What an admin, or the person, may change of a person (PATCH); the rest only an admin.
OWN_FIELDS = frozenset({"email", "phone", "timezone", "working_hours", "waking_hours", "webhook_url", "apprise_urls"})
FIELDS = (
    "name",
    "email",
    "timezone",
    "phone",
    "groups",
    "working_hours",
    "waking_hours",
    "webhook_url",
    "admin",
    "apprise_urls",
)


def token_id_for(token_hash: str) -> UUID:
    """A token is found by its hash alone, so its id is derived from it."""
    return uuid5(NAMESPACE_URL, f"warroom:token:{token_hash}")


def keyring_id(person_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"warroom:keyring:{person_id}")


class Person(CheapCopy, Aggregate):
    """``apprise_urls``: how the phone and sms channels reach them (None for every person registered or
    edited before they existed: their events load without)."""

    apprise_urls: dict | None = None

    @event("Registered")
    def __init__(
        self,
        id: UUID,
        name: str,
        email: str,
        timezone: str,
        phone: str | None,
        groups: list[str],
        working_hours: dict,
        waking_hours: dict | None,
        webhook_url: str | None,
        admin: bool,
        apprise_urls: dict | None = None,
    ):
        self.name, self.email, self.timezone, self.phone = name, email, timezone, phone
        self.groups, self.working_hours, self.waking_hours = groups, working_hours, waking_hours
        self.webhook_url, self.admin, self.apprise_urls = webhook_url, admin, apprise_urls
        self.active = True

    def hours(self) -> dict:
        """The person as the process kernel's time rules read one (shared.process.hours)."""
        return {"timezone": self.timezone, "working_hours": self.working_hours, "waking_hours": self.waking_hours}

    def fields(self) -> dict:
        """The person as registered or last edited, without id and state (what a PATCH merges onto)."""
        return {name: getattr(self, name) for name in FIELDS}

    @event("Updated")
    def update(
        self,
        name: str,
        email: str,
        timezone: str,
        phone: str | None,
        groups: list[str],
        working_hours: dict,
        waking_hours: dict | None,
        webhook_url: str | None,
        admin: bool,
        by: str,
        apprise_urls: dict | None = None,
    ) -> None:
        """The whole person as edited (a PATCH merged onto them), so the event says all of it."""
        self.name, self.email, self.timezone, self.phone = name, email, timezone, phone
        self.groups, self.working_hours, self.waking_hours = groups, working_hours, waking_hours
        self.webhook_url, self.admin, self.apprise_urls = webhook_url, admin, apprise_urls

    @event("Deactivated")
    def deactivate(self, by: str, left_groups: list[str], left_aspects: list[str], revoked_tokens: list[str]) -> None:
        """Gone from their groups (the directory's aspects and tokens change in the same commit); history kept."""
        self.active, self.groups = False, []

    @event("Activated")
    def activate(self, by: str) -> None:
        self.active = True


class Token(CheapCopy, Aggregate):
    """An API token, by its hash. ``parent``: the token a session was opened with (revoking it ends the
    session); ``label`` and ``expires_at`` are optional (events stored before them load without)."""

    @event("Issued")
    def __init__(
        self,
        id: UUID,
        person_id: str,
        token_hash: str,
        label: str | None = None,
        expires_at: datetime | None = None,
        parent: str | None = None,
    ):
        self.person_id, self.token_hash, self.revoked = person_id, token_hash, False
        self.label, self.expires_at, self.parent = label, expires_at, parent

    @event("Revoked")
    def revoke(self) -> None:
        self.revoked = True

    @event("ExpirySet")
    def set_expiry(self, expires_at: datetime, by: str) -> None:
        self.expires_at = expires_at

    def valid_at(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def reinstate(self) -> None:
        self._reinstated(person_id=self.person_id, token_hash=self.token_hash)

    @event("Reinstated")
    def _reinstated(self, person_id: str, token_hash: str) -> None:
        self.revoked = False


class Keyring(CheapCopy, Aggregate):
    """Which tokens a person holds, saved with each token issued: listed, and revoked together on
    deactivation, without searching the store. Private to this service."""

    @event("Opened")
    def __init__(self, id: UUID, person_id: str):
        self.person_id = person_id
        self.tokens: list[str] = []  # oldest first
        self.parents: dict[str, str] = {}  # session token -> the token it was opened with

    @event("TokenAdded")
    def add(self, token_id: str, parent: str | None) -> None:
        if token_id not in self.tokens:
            self.tokens.append(token_id)
        if parent is not None:
            self.parents[token_id] = parent

    def sessions_of(self, token_id: str) -> list[str]:
        return [child for child, parent in self.parents.items() if parent == token_id]


class TokenIndex(CheapCopy, Aggregate):
    """Marks that the tokens issued before keyrings existed were put on their people's keyrings (once)."""

    @event("Built")
    def __init__(self, id: UUID, tokens: int):
        self.tokens = tokens


class AdminCredential(CheapCopy, Aggregate):
    """Which token is the built-in admin's (WARROOM_ADMIN_TOKEN), so rotating it revokes the old one."""

    @event("Set")
    def __init__(self, id: UUID, token_id: str):
        self.token_id = token_id

    @event("Rotated")
    def rotate(self, token_id: str) -> None:
        self.token_id = token_id


class Process(CheapCopy, Aggregate):
    """Every version of the process document; incidents pin the version they were declared under."""

    @event("Established")
    def __init__(self, id: UUID, version: int, document: dict, by: str, cites_postmortem: str | None):
        self.versions: list[dict] = [document]
        # [post-mortem, action item] of every refinement applied: each applies once (R17).
        self.applied: list[list] = []

    class VersionPublished(Aggregate.Event):
        """Version 2 cites the post-mortem's action item a refinement applied (R17); version 1 events cite none."""

        version: int
        document: dict
        by: str
        cites_postmortem: str | None
        cites_action_item: int | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state.setdefault("cites_action_item", None)

    @event(VersionPublished)
    def _published(
        self, version: int, document: dict, by: str, cites_postmortem: str | None, cites_action_item: int | None
    ) -> None:
        self.versions.append(document)
        if cites_action_item is not None:
            self.applied.append([cites_postmortem, cites_action_item])

    def has_applied(self, postmortem: str, action_item: int) -> bool:
        return [postmortem, action_item] in self.applied

    @property
    def current_version(self) -> int:
        return len(self.versions)

    @property
    def current(self) -> dict:
        return self.versions[-1]

    def publish(
        self, document: dict, by: str, cites_postmortem: str | None = None, cites_action_item: int | None = None
    ) -> None:
        self._published(
            version=self.current_version + 1,
            document=document,
            by=by,
            cites_postmortem=cites_postmortem,
            cites_action_item=cites_action_item,
        )


class Directory(CheapCopy, Aggregate):
    """The SME directory: per aspect of the company, the SMEs in the order they are paged (R10)."""

    @event("Opened")
    def __init__(self, id: UUID, aspect: str, smes: list[str], by: str):
        self.aspects: dict[str, list[str]] = {aspect: smes}

    @event("AspectSet")
    def set_aspect(self, aspect: str, smes: list[str], by: str) -> None:
        self.aspects[aspect] = smes


class MinorReport(CheapCopy, Aggregate):
    """R12: too small for the incident process; recorded, published, forwarded to the issue tracker."""

    @event("Filed")
    def __init__(self, title: str, description: str, aspect: str, by: str, alerts: list[dict] | None = None):
        """``alerts``: the Alertmanager alerts it was filed for (alerts.py); None for a person's report (and
        every report filed before alerts were)."""
        self.title, self.description, self.aspect, self.by = title, description, aspect, by
        self.alerts = alerts

    @event("AlertsAdded")
    def add_alerts(self, alerts: list[dict], by: str) -> None:
        """Later firing alerts of the Alertmanager group it was filed for, while the group still fires: one
        report per group (alerts.py)."""
        self.alerts = [*(self.alerts or []), *alerts]
