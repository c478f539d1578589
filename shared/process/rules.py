"""A process version as the time rules read it: typed, durations parsed once (R05, R06, R08, R11, R14, R19).

``Rules.of(document)`` accepts any stored version (older ones may lack newer fields): what the
document leaves out takes the defaults of ``document.DEFAULT_LIMITS``. An incident keeps the
version it was declared under, so every service reads that version's `Rules`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared import durations
from shared.process.document import DEFAULT_LIMITS
from shared.process.hours import ANY_HOUR

# R14: checklist steps the system itself performs, and the incident event that performs them: resolving
# declares the incident over; the post-mortem's draft, which exists from the declaration, starts it.
SYSTEM_STEPS = {"declare-over": "warroom.incident.resolved.v1", "start-postmortem": "warroom.incident.declared.v1"}


def _duration(source: Mapping[str, Any], key: str) -> timedelta | None:
    text = source.get(key)
    return durations.parse(text) if text else None


def _limit(source: Mapping[str, Any], key: str, default: str) -> timedelta:
    return durations.parse(source.get(key) or default)


@dataclass(frozen=True)
class Step:
    id: str
    title: str = ""
    due_within: timedelta | None = None


@dataclass(frozen=True)
class ObserverEntry:
    group: str | None
    person: str | None
    channel: str = "webhook"
    immediacy: str = ANY_HOUR


@dataclass(frozen=True)
class Level:
    number: int
    immediacy: str = ANY_HOUR
    acknowledge_within: timedelta | None = None
    status_update_every: timedelta | None = None
    public_update_every: timedelta | None = None
    checklist: tuple[Step, ...] = ()
    requires_pr_manager: bool = False
    observers: tuple[ObserverEntry, ...] = ()
    communications: str = ""
    name: str = ""
    # A Slack-compatible incoming webhook the level's notifying events are posted to (a secret).
    chat_webhook_url: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, level: Mapping[str, Any]) -> "Level":
        return cls(
            number=level["level"],
            immediacy=level.get("immediacy") or ANY_HOUR,
            acknowledge_within=_duration(level, "acknowledge_within"),
            status_update_every=_duration(level, "status_update_every"),
            public_update_every=_duration(level, "public_update_every"),
            checklist=tuple(
                Step(s["id"], s.get("title", ""), _duration(s, "due_within")) for s in level.get("checklist") or ()
            ),
            requires_pr_manager=bool(level.get("requires_pr_manager")),
            observers=tuple(
                ObserverEntry(
                    o.get("group"), o.get("person"), o.get("channel") or "webhook", o.get("immediacy") or ANY_HOUR
                )
                for o in level.get("observers") or ()
            ),
            communications=level.get("communications") or "",
            name=level.get("name") or "",
            chat_webhook_url=level.get("chat_webhook_url") or None,
        )

    @property
    def timed_steps(self) -> tuple[Step, ...]:
        """The checklist steps with a deadline."""
        return tuple(step for step in self.checklist if step.due_within is not None)


@dataclass(frozen=True)
class AlertRoute:
    """Where an Alertmanager alert goes: declared on ``aspect`` at ``severity``, or a minor report (None)."""

    match: Mapping[str, str]
    aspect: str
    severity: int | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Every pair of the route is one of the alert's labels."""
        return all(labels.get(name) == value for name, value in self.match.items())


@dataclass(frozen=True)
class Rules:
    levels: Mapping[int, Level]
    handover_warning_after: timedelta = durations.parse(DEFAULT_LIMITS["handover_warning_after"])
    manager_shift_limit: timedelta = durations.parse(DEFAULT_LIMITS["manager_shift_limit"])
    manager_min_break: timedelta = durations.parse(DEFAULT_LIMITS["manager_min_break"])
    worker_fresh_for: timedelta = durations.parse(DEFAULT_LIMITS["worker_fresh_for"])
    catch_all_sme: str | None = None
    issue_tracker_webhook: str | None = field(default=None, repr=False)
    alert_routes: tuple[AlertRoute, ...] = ()

    @classmethod
    def of(cls, document: Mapping[str, Any] | None) -> "Rules":
        document = document or {}
        return cls(
            levels={level["level"]: Level.of(level) for level in document.get("levels") or ()},
            **{key: _limit(document, key, default) for key, default in DEFAULT_LIMITS.items()},
            catch_all_sme=document.get("catch_all_sme") or None,
            issue_tracker_webhook=document.get("issue_tracker_webhook") or None,
            alert_routes=tuple(
                AlertRoute(dict(r.get("match") or {}), r["aspect"], r.get("severity"))
                for r in document.get("alert_routes") or ()
            ),
        )

    def route_for(self, labels: Mapping[str, str]) -> AlertRoute | None:
        """The first alert route that matches ``labels``; None: no route does."""
        return next((route for route in self.alert_routes if route.matches(labels)), None)

    def level(self, number: int | None) -> Level:
        # An unknown level sets no deadlines rather than stopping the incident's other rules.
        known = None if number is None else self.levels.get(number)
        return known or Level(number or 0)
