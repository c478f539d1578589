"""What every area of the incident builds on (no I/O here): the command's context, the incident's state as
the areas read it, the base of every event, and the checks every command makes before its own rule."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from eventsourcing.domain import Aggregate

from services.incident import moment, policy
from services.incident.errors import Conflict, Forbidden, Invalid
from services.incident.policy import Actor
from shared.process import timing
from shared.process.rules import Rules


@dataclass(frozen=True)
class Context:
    """What a command needs besides its own input: who asks, when, and the facts rules depend on."""

    actor: Actor
    at: datetime
    process: dict[str, Any]  # the process document the incident was declared under
    # R05: when a person's continuous tenure as manager began, were they to take an incident on at
    # a moment (their other incidents and breaks decide it): asked only when the manager changes.
    tenure_start: Callable[[str, datetime], datetime] = lambda person, at: at
    # R11: a person's timezone, working and waking hours (shared.process.hours.hours_of), or None
    # for nobody known: when a page is let out to them decides when it is due.
    hours_of: Callable[[str], dict[str, Any] | None] = lambda person: None
    # ``process`` typed; the application hands over the version's rules parsed once.
    rules: Rules | None = None
    # A person's name as people know it, for refusals that say who may act (their id when unknown).
    name_of: Callable[[str], str] = lambda person: person

    def __post_init__(self) -> None:
        if self.rules is None:
            object.__setattr__(self, "rules", Rules.of(self.process))


class IncidentEvent(Aggregate.Event):
    """The base of every incident event. Each area module defines its events on it, with ``apply`` saying
    what the event changes; ``Incident`` (domain/__init__.py) makes each one its own ``Incident.<Name>``,
    the class the store names in its topics. ``apply`` only records the change, so replaying the
    history never re-checks a rule."""

    # Stamped with the command's moment, the instant its rules used (moment.py).
    create_timestamp = staticmethod(moment.now)

    def apply(self, aggregate: Any) -> None:
        """Subclasses record their change on ``aggregate``, the incident."""


def blank_field(field: str) -> dict[str, str]:
    return {"field": field, "message": "must not be blank"}


class HandoverOffer(TypedDict):
    """The handover on offer (R04): to whom, the briefing they read first, and who offered it."""

    to: str
    briefing: str
    by: str


class Resolution(TypedDict):
    """How the incident was resolved (R15)."""

    resolution: str
    test_plan: str


class Breach(TypedDict):
    """R05: a manager reached the shift limit; ``tenure_started_at`` is ISO 8601, as the event carries it."""

    manager: str
    tenure_started_at: str


class SeverityInput(TypedDict):
    """R07: an observer's or SME's view of the level, numbered by its event's sequence."""

    sequence: int
    level: int
    comment: str
    by: str


class StepDone(TypedDict):
    """R14: a checklist step completed, at which level, by whom and when."""

    level: int
    by: str
    at: datetime


class State:
    """The incident's state, declared once for every area (set by ``Incident.__init__`` and the events)."""

    title: str
    description: str
    aspect: str
    severity: int
    level_since: datetime
    status: str  # "open", "resolved", "closed"
    declared_by: str
    process_version: int
    declared_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: Resolution | None
    manager: str
    managers: list[str]  # everyone who ever managed it, in order
    manager_since: datetime  # when the manager's continuous tenure began (R05)
    workers: list[str]
    tired_workers: list[str]  # R19: added although already long on incidents
    smes: list[str]
    observers: list[str]
    pr_manager: str | None
    handover_offer: HandoverOffer | None
    paged: str
    pages: list[str]
    paged_at: datetime
    acknowledged: bool
    coverage_gap: bool
    handled_timers: list[str]  # timers already acted on: a list, snapshots serialise the state as JSON
    breaches: list[Breach]
    severity_inputs: list[SeverityInput]
    checklist_done: dict[str, StepDone]
    last_status_at: datetime
    last_public_update_at: datetime
    status_updates: int
    # How many events the incident has recorded: eventsourcing's ``Aggregate.version``, mixed in with this.
    version: int
    # When the current manager took this incident on (declared, handed over, escalated, reopened): their
    # shift deadlines are never before it (R05). A class default, for snapshots taken before it was kept.
    taken_on_at: datetime | None = None
    # Per worker, since when their next status update is counted (R06): joining, the manager's last
    # request, their own last update, a reopening. A class default, for snapshots taken before it was kept.
    status_since: dict[str, datetime] | None = None
    # The level the current page was sent under: its immediacy and acknowledge_within decide when it is
    # due, whatever the level becomes later (R11). A class default, for snapshots taken before it was kept.
    paged_severity: int | None = None

    def status_counted_from(self) -> dict[str, datetime]:
        """R06: per worker, the moment their next status update is counted from (a copy: reading changes nothing)."""
        if self.status_since is None:  # state from before it was kept
            return {worker: self.last_status_at for worker in self.workers}
        return dict(self.status_since)

    def _status_since(self) -> dict[str, datetime]:
        """For events: the per-worker record, made from the older state when it was not kept."""
        if self.status_since is None:
            self.status_since = self.status_counted_from()
        return self.status_since

    def _drop_worker(self, person: str) -> None:
        """For events: ``person`` stops working on the incident (removed, or made manager: R03)."""
        self.workers.remove(person)
        self._status_since().pop(person, None)
        if person in self.tired_workers:
            self.tired_workers.remove(person)


class Guards(State):
    """What every command checks before its own rule; mixed into ``Incident`` with each area's commands."""

    def _record(self, event: type[IncidentEvent], **facts: Any) -> None:
        """Trigger ``event`` as the incident's own ``Incident.<Name>``: the class stored topics name."""
        own = getattr(type(self), event.__name__)
        assert issubclass(own, event), f"{type(self).__name__} does not record {event.__name__}"
        self.trigger_event(own, **facts)  # type: ignore[attr-defined]  # on Aggregate, mixed in with this

    def roles_of(self, person: str) -> set[str]:
        held = {
            "manager": person == self.manager,
            "worker": person in self.workers,
            "sme": person in self.smes,
            "observer": person in self.observers,
            "pr_manager": person == self.pr_manager,
        }
        return {role for role, holds in held.items() if holds}

    def _authorize(self, action: str, ctx: Context) -> None:
        roles = policy.actor_roles(ctx.actor, self) & policy.PERMISSIONS[action]
        if not roles:
            raise Forbidden(policy.refusal(action, self, ctx.name_of), rule=policy.rule_for(action))
        # R05 binds the person who manages, whatever else they are: an admin managing past the limit
        # may still offer the handover, and force one (an admin's own power, not a manager command).
        if (
            ctx.actor.person_id == self.manager
            and "manager" in policy.PERMISSIONS[action]
            and action != "offer_handover"
            and self.over_shift_limit(ctx)
        ):
            raise Conflict("the manager has reached the shift limit: only offering the handover remains", rule="R05")

    def manager_tenure_started(self, ctx: Context) -> datetime:
        """R05: when the manager's continuous tenure began. Fixed while they manage this incident; a
        resolved incident is managed by nobody, so reopening it counts the tenure as it stands then
        (a long enough break since resolving starts a new one)."""
        if self.status == "open":
            return self.manager_since
        return ctx.tenure_start(self.manager, ctx.at)

    def over_shift_limit(self, ctx: Context) -> bool:
        assert ctx.rules is not None  # set by Context itself
        return timing.over_shift_limit(self.manager_tenure_started(ctx), ctx.at, ctx.rules)

    def _require_open(self) -> None:
        if self.status != "open":
            raise Conflict(f"the incident is {self.status}", rule="R15")

    def _command(self, action: str, ctx: Context) -> None:
        # The role first: a caller without it learns nothing about the incident's state (403 before 409).
        self._authorize(action, ctx)
        self._require_open()

    @staticmethod
    def _require_text(field: str, value: str, rule: str) -> None:
        if not value.strip():
            raise Invalid(f"{field} must not be blank", rule=rule, errors=[blank_field(field)])
