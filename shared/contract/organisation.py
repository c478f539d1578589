"""Organisation events: people, tokens, the SME directory, process versions, minor reports."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shared.contract.alerts import Alert
from shared.contract.base import Data, Key, PersonId
from shared.text import Aspect, Json, Line, Message, Name, Title

# --- organisation: people, tokens, directory, process (subject = the aggregate's id) ---


class WorkingHours(Data):
    start: Annotated[str, Line(5)]
    end: Annotated[str, Line(5)]
    days: list[int]


class WakingHours(Data):
    start: Annotated[str, Line(5)]
    end: Annotated[str, Line(5)]


# A secret at rest (S11, shared/sealing.py): "fernet:" and a Fernet token under WARROOM_SECRETS_KEYS (a
# 2,000-character URL seals to under 3,000); a value without the prefix was stored before sealing existed.
Sealed = Annotated[
    str,
    Line(4000),
    Field(description='"fernet:" and a Fernet token (sealed under WARROOM_SECRETS_KEYS); else legacy plaintext'),
]
# A person's Apprise URLs (https://github.com/caronc/apprise) per channel: how a phone or SMS reaches them.
AppriseUrls = dict[Literal["phone", "sms"], Sealed]


class PersonRegistered(Data):
    id: PersonId
    name: Name
    email: Annotated[str, Line(254)]
    timezone: Annotated[str, Line(64)]
    phone: Annotated[str, Line(40)] | None = None
    groups: list[Annotated[str, Line(100)]] = []
    working_hours: WorkingHours
    waking_hours: WakingHours | None = None
    webhook_url: Annotated[str, Line(2000)] | None = None
    admin: bool = False
    # How the phone and sms channels reach them (secrets: the URLs carry the providers' keys, so each is sealed,
    # S11); None: no way.
    apprise_urls: AppriseUrls | None = None


class PersonUpdated(PersonRegistered):
    """The whole person after an edit (PATCH /v1/people/{id}): replaces what was registered."""

    by: PersonId


class PersonDeactivated(Data):
    """A person deactivated: no sign-in, named in no new command, their history kept.

    They left these groups and aspects of the SME directory, and these tokens were revoked (each with its
    own event)."""

    id: PersonId
    by: PersonId
    left_groups: list[Annotated[str, Line(100)]] = []
    left_aspects: list[Aspect] = []
    revoked_tokens: list[Key] = []


class PersonActivated(Data):
    """A deactivation undone; the tokens revoked then stay revoked."""

    id: PersonId
    by: PersonId


class TokenIssued(Data):
    """A token's SHA-256 hash (never the token): every service authenticates from these."""

    id: Key
    person_id: PersonId
    token_hash: Annotated[str, Line(128)]
    label: Annotated[str, Line(100)] | None = None
    # Refused by every service from this moment on; none: valid until revoked.
    expires_at: datetime | None = None
    # A console session's token: the token it was signed in with (revoking that revokes this too).
    parent: Key | None = None


class TokenExpirySet(Data):
    """A token's expiry, set or moved: every service refuses it from then on."""

    id: Key
    expires_at: datetime
    by: PersonId


class TokenRevoked(Data):
    id: Key


class AspectSmesSet(Data):
    aspect: Aspect
    smes: list[PersonId]
    by: PersonId


class ProcessPublished(Data):
    version: int
    document: Json = Field(
        description="The process document; its secrets (issue_tracker_webhook, each level's chat_webhook_url) "
        'sealed: "fernet:" and a Fernet token under WARROOM_SECRETS_KEYS (else legacy plaintext)'
    )
    by: PersonId
    # The post-mortem whose refinement produced this version (R17), if any.
    cites_postmortem: Key | None = None
    # The post-mortem's action item that produced it (R17: applied once), if any.
    cites_action_item: int | None = None


class MinorReportFiled(Data):
    id: Key
    title: Title
    description: Message
    aspect: Aspect
    by: PersonId
    # The Alertmanager alerts it was filed for (their route files reports, or none matched); None: a person's.
    alerts: list[Alert] | None = None


class MinorReportAlertsAdded(Data):
    """Later firing alerts of the Alertmanager group a minor report was filed for, added to it while the group
    fires: one report per group until every alert of it has resolved."""

    id: Key
    alerts: list[Alert]
    by: PersonId
