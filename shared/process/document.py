"""The process document as the API reads and writes it: its shape, validation, warnings (R09, R10)
and the default process (docs/process.md). The defaults of the limits are stated here only."""

import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared import durations
from shared.process.secrets import MASK
from shared.text import URL, Line, Text

# Every string of the document is one of shared/text's types (no control characters, bounded),
# so a version is storable and showable everywhere it is published.
Duration = Annotated[str, Line(64)]
Immediacy = Literal["any_hour", "waking_hours", "next_business_day"]

# The limits a document may leave out, as docs/process.md states them (R05, R19).
DEFAULT_LIMITS = {
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "manager_min_break": "PT1H",
    "worker_fresh_for": "PT12H",
}


def _duration(value: str | None) -> str | None:
    if value is not None:
        durations.parse(value)
    return value


def _webhook(value: str | None) -> str | None:
    # MASK stands for the value already stored, as GET showed it to someone not an admin (secrets.py).
    if value is not None and value != MASK and not re.match(URL, value):
        raise ValueError("must be an http or https URL (or *** to keep the current one)")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObserverPolicy(Strict):
    """Who a level keeps informed, how and how urgently (R07): exactly one of group or person."""

    group: Annotated[str, Line(100)] | None = Field(None, description="Everyone in this group")
    person: Annotated[str, Line(64)] | None = Field(None, description="This person (an id)")
    channel: Literal["webhook", "email", "phone", "sms"] = Field("webhook", description="How they are told")
    immediacy: Immediacy = Field("any_hour", description="How urgently: at any hour, in waking hours, or next day")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.group is None) == (self.person is None):
            raise ValueError("an observer entry names exactly one of group or person")
        return self


class ChecklistStep(Strict):
    """A step of a level's checklist (R14)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="The step's id, unique in its level")
    title: Annotated[str, Line(280, min_length=1)] = Field(description="What to do")
    due_within: Duration | None = Field(None, description="ISO 8601 duration from the level's start; null: no deadline")

    _check = field_validator("due_within")(_duration)


class Level(Strict):
    """A severity level and its policy (R09, R11)."""

    level: int = Field(ge=1, description="Its number: 1 is the most severe")
    name: Annotated[str, Line(100, min_length=1)] = Field(description="Its name (Critical)")
    description: Annotated[str, Text(280, min_length=1)] = Field(description="What lets a reporter pick it")
    immediacy: Immediacy = Field(description="How urgently people are paged: at any hour, in waking hours, or next day")
    communications: Annotated[str, Text(1000)] = Field(description="Where people talk during such an incident")
    observers: list[ObserverPolicy] = Field([], description="Who is kept informed (R07)")
    checklist: list[ChecklistStep] = Field([], description="The steps the manager follows (R14)")
    status_update_every: Duration = Field(description="ISO 8601 duration between the workers' status updates (R06)")
    public_update_every: Duration | None = Field(None, description="Between public updates (R08); null: none")
    requires_pr_manager: bool = Field(False, description="A PR manager must be assigned (R08)")
    acknowledge_within: Duration = Field(description="How soon a page must be acknowledged before it escalates (R11)")
    chat_webhook_url: Annotated[str, Line(2000)] | None = Field(
        None,
        description="A Slack-compatible incoming webhook: the level's incident events that notify anyone are "
        "posted there; a secret, shown only to admins (others read ***)",
    )

    _check = field_validator("status_update_every", "public_update_every", "acknowledge_within")(_duration)
    _room = field_validator("chat_webhook_url")(_webhook)

    @model_validator(mode="after")
    def _unique_steps(self) -> Self:
        ids = [step.id for step in self.checklist]
        if len(ids) != len(set(ids)):
            raise ValueError(f"level {self.level}: checklist step ids must be unique")
        return self


class AlertRoute(Strict):
    """Where a Prometheus Alertmanager alert goes (POST /v1/integrations/alertmanager): the first route whose
    every label pair the alert carries decides."""

    match: dict[Annotated[str, Line(100, min_length=1)], Annotated[str, Line(1000)]] = Field(
        max_length=50, description="Labels and the values the alert must carry, all of them; {} matches any alert"
    )
    aspect: Annotated[str, Line(100, min_length=1)] = Field(description="The aspect it is declared or reported for")
    severity: Annotated[int, Field(ge=1)] | None = Field(
        None, description="The level to declare at; null: file a minor report instead (R12)"
    )


class ProcessDocument(Strict):
    """The process: its severity levels and their policies, and the limits on people (docs/process.md)."""

    # Read-only: accepted back from GET and ignored.
    version: int | None = Field(None, description="Read-only: the version this was read as; ignored when written")
    levels: list[Level] = Field(min_length=1, description="The severity levels, numbered 1, 2, 3… in order (R09)")
    manager_shift_limit: Duration = Field(
        DEFAULT_LIMITS["manager_shift_limit"], description="ISO 8601 duration nobody manages longer than (R05)"
    )
    handover_warning_after: Duration = Field(
        DEFAULT_LIMITS["handover_warning_after"], description="When the manager is warned to hand over (R05)"
    )
    manager_min_break: Duration = Field(
        DEFAULT_LIMITS["manager_min_break"], description="A break, managing nothing, that restarts a tenure (R05)"
    )
    worker_fresh_for: Duration = Field(
        DEFAULT_LIMITS["worker_fresh_for"],
        description="Time on incidents in 24 hours beyond which a worker is tired (R19)",
    )
    catch_all_sme: Annotated[str, Line(64)] | None = Field(
        None, description="Who is paged for an aspect without SMEs (R10); null: such declarations are refused"
    )
    issue_tracker_webhook: Annotated[str, Line(2000)] | None = Field(
        None, description="Where minor reports are forwarded (R12)"
    )
    alert_routes: list[AlertRoute] = Field(
        [], max_length=200, description="Where Alertmanager's alerts go, the first matching route winning"
    )

    _check = field_validator("manager_shift_limit", "handover_warning_after", "manager_min_break", "worker_fresh_for")(
        _duration
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        numbers = [level.level for level in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("levels must be numbered 1, 2, 3, … in order (level 1 is the most severe)")
        if durations.parse(self.handover_warning_after) >= durations.parse(self.manager_shift_limit):
            raise ValueError("handover_warning_after must come before manager_shift_limit")
        for n, route in enumerate(self.alert_routes):
            if route.severity is not None and route.severity not in numbers:
                raise ValueError(f"alert_routes[{n}]: there is no level {route.severity}")
        return self

    def document(self) -> dict[str, Any]:
        # Only the document's own fields: subclasses may accept read-only extras from GET.
        dumped = self.model_dump(mode="json", include=set(ProcessDocument.model_fields) - {"version"})
        # Fields added later are left out while unused, so a version written before them reads back equal.
        if not dumped["alert_routes"]:
            del dumped["alert_routes"]
        for level in dumped["levels"]:
            if level["chat_webhook_url"] is None:
                del level["chat_webhook_url"]
        return dumped

    def warnings_found(self) -> list[str]:
        found: list[str] = []
        if len(self.levels) > 5:
            found.append(f"{len(self.levels)} levels: it is unlikely you need more than five (R09)")
        if not self.catch_all_sme:
            found.append("catch_all_sme is empty: declaring for an aspect without SMEs will be refused (R10)")
        return found


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# A checklist step of the default process: its id, its title, and how soon it is due (if at all).
Step = tuple[str, str, str | None]


def _level(
    n: int,
    name: str,
    description: str,
    immediacy: str,
    communications: str,
    observer_immediacy: str,
    status: str,
    public: str | None,
    pr: bool,
    ack: str,
    steps: list[Step],
) -> dict[str, Any]:
    return {
        "level": n,
        "name": name,
        "description": description,
        "immediacy": immediacy,
        "communications": communications,
        "observers": [
            {"group": "executives", "channel": "webhook" if n < 3 else "email", "immediacy": observer_immediacy}
        ],
        "checklist": [{"id": sid, "title": title, "due_within": due} for sid, title, due in steps],
        "status_update_every": status,
        "public_update_every": public,
        "requires_pr_manager": pr,
        "acknowledge_within": ack,
    }


_LEVEL1_STEPS: list[Step] = [
    ("pick-worker", "Pick and contact a worker, with the SME's help", "PT15M"),
    ("announce", "Announce in the incident chat room with a link to this level's document", "PT10M"),
    ("conference-call", "Start the conference call and post its number", "PT15M"),
    ("contact-observers", "Contact the observers", "PT15M"),
    ("pr-manager", "Contact or delegate to the PR manager", "PT30M"),
    ("ticket", "File a ticket and link it", "PT30M"),
    ("ask-worker", "Ask the worker whether help is needed", "PT1H"),
    ("test-plan", "Start a test plan", "PT1H"),
    ("verify-staging", "Verify the fix in staging", None),
    ("deploy", "Deploy the fix", None),
    ("verify-production", "Verify the fix in production", None),
    ("update-observers", "Update the observers and confirm they are satisfied", None),
    ("declare-over", "Declare the incident over", None),
    ("release-workers", "Release the workers", None),
    ("start-postmortem", "Start the post-mortem", None),
]


def default_process() -> dict[str, Any]:
    """Three levels restating the original process's examples, in our own words (docs/process.md,
    "The default process")."""
    return ProcessDocument.model_validate(
        {
            "levels": [
                _level(
                    1,
                    "Critical",
                    "Worst case: several customer sites down, a top customer down, or customers actively harmed.",
                    "any_hour",
                    "Incident chat room, conference call and IM; the manager's direct phone.",
                    "any_hour",
                    "PT1H",
                    "PT1H",
                    True,
                    "PT5M",
                    _LEVEL1_STEPS,
                ),
                _level(
                    2,
                    "Serious",
                    "Important parts unusable; harm or losses are coming, but there is no "
                    "need to wake people. Escalate to level 1 if not fixed quickly.",
                    "waking_hours",
                    "Chat room and IM; the manager's phone.",
                    "waking_hours",
                    "PT2H",
                    "PT2H",
                    True,
                    "PT15M",
                    [(s, t, d) for s, t, d in _LEVEL1_STEPS if s != "conference-call"],
                ),
                _level(
                    3,
                    "Significant",
                    "A significant problem for customers; nobody is harmed right now.",
                    "next_business_day",
                    "Chat room if useful; IM; the manager's phone.",
                    "next_business_day",
                    "PT4H",
                    None,
                    False,
                    "PT24H",
                    [(s, t, None) for s, t, _ in _LEVEL1_STEPS if s not in ("conference-call", "pr-manager")],
                ),
            ],
        }
    ).document()
