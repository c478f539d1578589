"""The notifier API's bodies: what it accepts (strict: unknown fields are 422) and what it answers,
every field described and every body with an example, for the OpenAPI document clients are made from."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from services.notifier import signing
from shared.text import Url

EXAMPLE_INCIDENT = "0b7e6a4c-2f1d-4c8e-9a53-6d2f1c7b8e90"
EXAMPLE_PERSON = "8d9f1b2c-3e4a-4b5c-9d6e-7f8a9b0c1d2e"
EXAMPLE_SUBSCRIPTION = "f3a1c2d4-6b7e-4f80-9a1b-2c3d4e5f6a7b"
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _examples(*examples: JsonDict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# --- deliveries ---

EXAMPLE_ATTEMPT: JsonDict = {"attempt": 1, "at": "2026-03-01T09:30:01.204Z", "status_code": 204, "error": None}
EXAMPLE_DELIVERY: JsonDict = {
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "event_id": "2a4d6f80-1b3c-4e5f-8a9b-0c1d2e3f4a5b",
    "event_type": "warroom.incident.declared.v1",
    "incident_id": EXAMPLE_INCIDENT,
    "recipient": EXAMPLE_PERSON,
    "channel": "webhook",
    "reason": "paged",
    "state": "delivered",
    "attempts": 1,
    "last_error": None,
    "created_at": "2026-03-01T09:30:00.981Z",
    "delivered_at": "2026-03-01T09:30:01.204Z",
    "not_before": None,
    "next_attempt_at": None,
    "history": [EXAMPLE_ATTEMPT],
}


class Attempt(BaseModel):
    """One try at sending a delivery."""

    model_config = _examples(EXAMPLE_ATTEMPT)
    attempt: int = Field(description="Its number: 1 for the first try")
    at: datetime = Field(description="When it was made")
    status_code: int | None = Field(
        description="The HTTP status the receiver answered; null when none came (refused, timed out, DNS) and for email"
    )
    error: str | None = Field(description="What went wrong, in words; null when it was delivered")


class Delivery(BaseModel):
    """One message to one recipient on one channel, about one event: queued once, tried until it is
    delivered or given up (at least once: receivers de-duplicate on its id)."""

    model_config = _examples(EXAMPLE_DELIVERY)
    id: str = Field(description="The delivery's id, also the `webhook-id` header every attempt carries")
    event_id: str = Field(description="The id of the CloudEvent it tells about")
    event_type: str = Field(description="That event's type, e.g. warroom.incident.declared.v1")
    incident_id: str | None = Field(description="The incident it is about; null for one that is about none")
    recipient: str = Field(
        description="Who it goes to: a person id, a subscription id, `issue_tracker` (R12's minor reports) or "
        "`chat_room` (the level's chat_webhook_url)"
    )
    channel: Literal["webhook", "email", "subscription", "issue_tracker", "chat", "phone", "sms"] = Field(
        description="How: the person's webhook_url, their email, a subscription's URL, the process's issue tracker, "
        "the level's chat room, or one of the person's Apprise URLs for phone or sms"
    )
    reason: str = Field(description="Why this recipient is told, e.g. paged, escalated, observer, status_update")
    state: Literal["pending", "delivered", "failed", "skipped", "refused", "disabled"] = Field(
        description="pending: waiting to be sent or retried; delivered; failed: every attempt failed, or the "
        "message could not be built; skipped: the recipient has no way to be reached on it (no webhook_url, no "
        "SMTP server, not a registered person); refused: the SSRF guard refused its target (S4); disabled: its "
        "endpoint answered 410 Gone, or its subscription was deleted"
    )
    attempts: int = Field(description="How many attempts were made")
    last_error: str | None = Field(description="The last attempt's error, or why it was skipped or given up")
    created_at: datetime = Field(description="When it was queued")
    delivered_at: datetime | None = Field(description="When the receiver accepted it; null until then")
    not_before: datetime | None = Field(
        description="Deferred to the recipient's waking or working hours (R11 immediacy) until then; null when "
        "it was due at once"
    )
    next_attempt_at: datetime | None = Field(description="When it is tried next; null once it has ended")
    history: list[Attempt] = Field(description="Every attempt, newest first")


class DeliveryPage(BaseModel):
    """A page of deliveries, newest first."""

    model_config = _examples({"deliveries": [EXAMPLE_DELIVERY], "next": "1042"})
    deliveries: list[Delivery] = Field(description="The deliveries of this page, newest first")
    next: str | None = Field(description="The `cursor` of the next (older) page; null on the last page")


EXAMPLE_ENDPOINT: JsonDict = {
    "endpoint": "https://hooks.example.com",
    "state": "open",
    "consecutive_failures": 3,
    "parked_times": 1,
    "parked_until": "2026-03-01T09:31:05Z",
    "last_error": "timed out after 10 s",
    "changed_at": "2026-03-01T09:31:00Z",
    "pending": 4,
    "held": 4,
}


class Endpoint(BaseModel):
    """The circuit breaker of one endpoint that failed at some time (F14)."""

    model_config = _examples(EXAMPLE_ENDPOINT)
    endpoint: str = Field(
        description="A URL's origin (scheme://host, and :port when the URL names one), or `smtp` for the mail server"
    )
    state: Literal["closed", "open", "half_open"] = Field(
        description="closed: delivered to; open: parked until parked_until, its deliveries held; half_open: one "
        "delivery sent as the probe, whose outcome closes or parks it again"
    )
    consecutive_failures: int = Field(description="Failures since its last answer (3 in a row park it)")
    parked_times: int = Field(description="Parkings in a row: each lasts twice as long, up to 5 minutes")
    parked_until: datetime | None = Field(description="When the parking ends and a probe is sent; null if not parked")
    last_error: str | None = Field(description="The last failure, in words")
    changed_at: datetime = Field(description="When its state last changed")
    pending: int = Field(description="Deliveries waiting for it, held ones included")
    held: int = Field(description="Of those, the ones held while it is parked")


class EndpointList(BaseModel):
    """Every endpoint that ever failed."""

    model_config = _examples({"endpoints": [EXAMPLE_ENDPOINT]})
    endpoints: list[Endpoint] = Field(description="Parked endpoints first")


class SigningSecrets(BaseModel):
    """The Standard Webhooks secrets the notifier signs people's webhooks and the issue tracker's with."""

    model_config = _examples({"source": "generated", "secrets": [EXAMPLE_SECRET]})
    source: Literal["settings", "generated"] = Field(
        description="settings: WARROOM_NOTIFIER_SIGNING_SECRETS sets them; generated: none was set, so the "
        "notifier made one and keeps it in its database"
    )
    secrets: list[str] = Field(
        description="The generated secret (whsec_…); empty when they come from the settings: configured "
        "secrets are the operator's to know"
    )


# --- subscriptions ---


def _secret(value: str) -> str:
    signing.decode(value)  # ValueError → 422 naming the field
    return value


Secret = Annotated[
    str,
    Field(max_length=100, pattern=signing.SHAPE.pattern, examples=[EXAMPLE_SECRET]),
    AfterValidator(_secret),
]
# Types or patterns: "*" matches any run of characters, dots included ("warroom.incident.*").
Pattern = Annotated[str, Field(max_length=200, pattern=r"^(\*|warroom\.[a-z0-9_.*]+)$")]
EXAMPLE_SUBSCRIPTION_IN: JsonDict = {
    "url": "https://ops.example.com/warroom-events",
    "event_types": ["warroom.incident.*", "warroom.postmortem.published.v1"],
    "secret": EXAMPLE_SECRET,
}


class SubscriptionIn(BaseModel):
    """A subscription to register."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_SUBSCRIPTION_IN]})
    url: Url = Field(
        description="Where the events are POSTed; a private, loopback or link-local address only if "
        "WARROOM_WEBHOOK_ALLOWLIST names it (S4)"
    )
    event_types: Annotated[list[Pattern], Field(min_length=1, max_length=50)] = Field(
        description="Event types to deliver, or patterns where `*` matches any run of characters, dots "
        "included (`warroom.incident.*`; `*` alone: every event)"
    )
    secret: Secret = Field(
        description="A Standard Webhooks secret (whsec_ and 24 to 64 bytes in base64) the deliveries are signed "
        "with; never shown again"
    )


class SecretsIn(BaseModel):
    """Rotation: list the new secret and the old one; both sign until the old one is left out."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"secrets": ["whsec_c2VjcmV0LXJvdGF0ZWQtaW4tbWFyY2gtMjAyNg==", EXAMPLE_SECRET]}]
        },
    )
    secrets: Annotated[list[Secret], Field(min_length=1, max_length=2)] = Field(
        description="One or two secrets, the new one first: each delivery carries a signature per secret"
    )


class Created(BaseModel):
    """What was created."""

    model_config = _examples({"id": EXAMPLE_SUBSCRIPTION})
    id: str = Field(description="Its id (the Location header gives its address)")


EXAMPLE_SUBSCRIPTION_OUT: JsonDict = {
    "id": EXAMPLE_SUBSCRIPTION,
    "url": "https://ops.example.com/warroom-events",
    "event_types": ["warroom.incident.*", "warroom.postmortem.published.v1"],
    "created_at": "2026-03-01T08:00:00Z",
    "disabled_at": None,
}


class Subscription(BaseModel):
    """A subscription (its secrets are never shown)."""

    model_config = _examples(EXAMPLE_SUBSCRIPTION_OUT)
    id: str = Field(description="The subscription's id")
    url: str = Field(description="Where its events are POSTed")
    event_types: list[str] = Field(description="The event types and patterns it delivers")
    created_at: datetime = Field(description="When it was registered")
    disabled_at: datetime | None = Field(
        description="Set when the endpoint answered 410 Gone (nothing is sent to it since); an admin's "
        "redelivery to it enables it again"
    )


class SubscriptionList(BaseModel):
    """Every subscription."""

    model_config = _examples({"subscriptions": [EXAMPLE_SUBSCRIPTION_OUT], "next": None})
    subscriptions: list[Subscription] = Field(description="Oldest first")
    next: str | None = Field(default=None, description="Always null: every subscription is on this one page")
