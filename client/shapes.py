"""The shapes the services answer with, as the API documents them (README, "Calling the API").

TypedDicts rather than classes: a result is the API's JSON as it came, so ``--json`` prints exactly
that and a field a newer service adds is kept. Fields a service may leave out are ``NotRequired``.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class HandoverOffer(TypedDict):
    to: str
    briefing: str
    by: str


class ChecklistDue(TypedDict):
    step: str
    title: str
    due_at: str | None


class Due(TypedDict):
    """R20: what is due next for the manager."""

    checklist: list[ChecklistDue]
    next_status_update_at: str | None
    next_public_update_at: str | None
    pr_manager_needed: bool
    acknowledgement_due_at: str | None
    handover_warning_at: str | None
    shift_limit_at: str | None
    tired_workers: list[str]


class Incident(TypedDict):
    id: str
    title: str
    description: str
    aspect: str
    status: str
    severity: int
    manager: str
    workers: list[str]
    smes: list[str]
    observers: list[str]
    pr_manager: str | None
    handover_offer: HandoverOffer | None
    version: int
    process_version: int
    declared_at: str
    resolved_at: str | None
    closed_at: str | None
    coverage_gap: bool
    paged: str
    acknowledged: bool
    managers: list[str]
    severity_inputs: list[dict[str, Any]]
    checklist_done: dict[str, dict[str, Any]]
    resolution: dict[str, Any] | None
    due: NotRequired[Due | None]
    coverage: NotRequired[dict[str, Any] | None]


class IncidentSummary(TypedDict):
    id: str
    title: str
    aspect: str
    status: str
    severity: int
    manager: str
    declared_at: str


class IncidentPage(TypedDict):
    incidents: list[IncidentSummary]
    next: str | None


class Event(TypedDict):
    """A CloudEvent of an incident's history; ``sequence`` is the incident's version after it."""

    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    data: dict[str, Any]
    sequence: int
    position: int


class EventPage(TypedDict):
    events: list[Event]
    next: int | None


class Integrity(TypedDict):
    """S8: the service's check of an incident's hash chain; ``broken_at`` only when broken."""

    intact: bool
    events: int
    head: str
    broken_at: NotRequired[int]


class Person(TypedDict):
    """``phone``, ``webhook_url`` and ``admin`` are null unless the caller is an admin or the person."""

    id: str
    name: str
    email: str
    timezone: str
    groups: list[str]
    working_hours: dict[str, Any]
    waking_hours: NotRequired[dict[str, Any] | None]
    phone: NotRequired[str | None]
    webhook_url: NotRequired[str | None]
    admin: NotRequired[bool | None]
    active: NotRequired[bool]


class PeoplePage(TypedDict):
    people: list[Person]
    next: str | None


class Deactivated(Person):
    """The person, deactivated, and what that did."""

    revoked_tokens: list[str]
    left_groups: list[str]
    left_aspects: list[str]
    coverage_warnings: list[str]


class IssuedToken(TypedDict):
    id: str
    token: str | None
    detail: NotRequired[str | None]


class Token(TypedDict):
    """A token as its person and admins see it: never its secret."""

    id: str
    label: str | None
    created_at: str
    last_used_at: str | None
    expires_at: str | None
    revoked: bool
    expired: bool
    parent: NotRequired[str | None]


class TokenPage(TypedDict):
    tokens: list[Token]
    next: str | None


class Aspect(TypedDict):
    aspect: str
    smes: list[str]


class ReportFiled(TypedDict):
    id: str


class Timer(TypedDict):
    id: str
    kind: str
    incident_id: str
    person: str | None
    due_at: str
    state: str
    fired_at: str | None


class SubscriptionCreated(TypedDict):
    id: str


class ReportLink(TypedDict):
    """A signed URL of the post-mortem's HTML report that opens without a token until it expires."""

    url: str
    expires_at: NotRequired[str]


# Documents whose shape belongs to their service and that tools edit by get-modify-put.
Process = dict[str, Any]
Postmortem = dict[str, Any]
