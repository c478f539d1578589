"""Who holds which role on an incident: workers, SMEs, observers, the PR manager, and who manages
(R01, R03, R07, R08, R19). No I/O here.

R03 lives here whole: adding the manager as a worker is refused, and every change of manager (an
accepted or forced handover, an escalation) records ``ManagerChanged``, which takes the new manager off
the workers in the same event.
"""

from datetime import datetime
from typing import Any

from services.incident.domain.base import Context, Guards, IncidentEvent, State
from services.incident.errors import Conflict, NotFound


class WorkerAdded(IncidentEvent):
    """Version 2 added R19's freshness (version 1 reads as a fresh worker with no time counted);
    version 3 when they joined (version 2 reads as joined at the incident's last status moment)."""

    person: str
    by: str
    worked_seconds_last_24h: int
    fresh: bool
    at: datetime | None
    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("worked_seconds_last_24h", 0)
        state.setdefault("fresh", True)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state.setdefault("at", None)

    def apply(self, aggregate: State) -> None:
        aggregate.workers.append(self.person)
        aggregate._status_since()[self.person] = self.at or aggregate.last_status_at
        if not self.fresh:
            aggregate.tired_workers.append(self.person)


class WorkerRemoved(IncidentEvent):
    person: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate._drop_worker(self.person)


class SmeAdded(IncidentEvent):
    person: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.smes.append(self.person)


class SmeRemoved(IncidentEvent):
    person: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.smes.remove(self.person)


class ObserverAdded(IncidentEvent):
    person: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.observers.append(self.person)


class ObserverRemoved(IncidentEvent):
    person: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.observers.remove(self.person)


class PrManagerAssigned(IncidentEvent):
    person: str
    previous: str | None
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.pr_manager = self.person


class ManagerChanged(IncidentEvent):
    """Someone else manages: ``how`` is "accepted" or "forced" (handover.py) or "escalated" (paging.py)."""

    previous: str
    manager: str
    how: str
    reason: str
    by: str
    timer_id: str | None
    removed_from_workers: bool
    to_catch_all: bool
    at: datetime
    manager_since: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.manager, aggregate.manager_since, aggregate.taken_on_at = self.manager, self.manager_since, self.at
        if self.removed_from_workers:  # R03, in the same event
            aggregate._drop_worker(self.manager)
        if self.manager not in aggregate.managers:
            aggregate.managers.append(self.manager)
        aggregate.handover_offer = None
        if self.how == "escalated":  # the new manager is paged and must acknowledge in turn
            aggregate.paged, aggregate.acknowledged, aggregate.paged_at = self.manager, False, self.at
            aggregate.paged_severity = aggregate.severity
            aggregate.pages.append(self.manager)
            if self.timer_id is not None:  # always, for an escalation: the ack_due timer caused it (paging.py)
                aggregate.handled_timers.append(self.timer_id)


class Roles(Guards):
    def add_worker(self, person: str, worked_seconds: int, fresh: bool, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        if person == self.manager:
            raise Conflict("the manager never works on the problem: hand the role over first", rule="R03")
        if person == self.pr_manager:
            raise Conflict("the PR manager cannot be a worker", rule="R08")
        if person in self.workers:
            raise Conflict("already a worker of this incident", rule="R01")
        self._record(
            WorkerAdded,
            person=person,
            by=ctx.actor.person_id,
            worked_seconds_last_24h=worked_seconds,
            fresh=fresh,
            at=ctx.at,
        )

    def remove_worker(self, person: str, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        if person not in self.workers:
            raise NotFound("not a worker of this incident", rule="R01")
        self._record(WorkerRemoved, person=person, by=ctx.actor.person_id)

    def add_member(self, role: str, person: str, ctx: Context) -> None:
        """Add an SME or an observer."""
        self._command("manage_roles", ctx)
        members = self.smes if role == "sme" else self.observers
        if person in members:
            raise Conflict(f"already an {role} of this incident", rule="R01")
        self._record(SmeAdded if role == "sme" else ObserverAdded, person=person, by=ctx.actor.person_id)

    def remove_member(self, role: str, person: str, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        members = self.smes if role == "sme" else self.observers
        if person not in members:
            raise NotFound(f"not an {role} of this incident", rule="R01")
        if role == "sme" and members == [person]:
            raise Conflict("an incident keeps at least one SME", rule="R01")
        self._record(SmeRemoved if role == "sme" else ObserverRemoved, person=person, by=ctx.actor.person_id)

    def assign_pr_manager(self, person: str, ctx: Context) -> None:
        """R08: the PR manager is neither the manager nor a worker, nor may they become manager. So the
        offeree of a pending handover cannot be made PR manager: the offer would stand for someone
        who may not accept it. Withdraw the offer (a new offer replaces it) or let them decline first."""
        self._command("manage_roles", ctx)
        if person == self.manager or person in self.workers:
            raise Conflict("the PR manager must be neither the manager nor a worker", rule="R08")
        if self.handover_offer is not None and self.handover_offer["to"] == person:
            raise Conflict(
                "the handover is on offer to this person, and the PR manager cannot become manager: "
                "offer it to someone else or let them decline first",
                rule="R08",
            )
        if person == self.pr_manager:
            raise Conflict("already the PR manager of this incident", rule="R08")
        self._record(PrManagerAssigned, person=person, previous=self.pr_manager, by=ctx.actor.person_id)

    def _change_manager(
        self,
        to: str,
        how: str,
        reason: str,
        by: str,
        ctx: Context,
        timer_id: str | None = None,
        to_catch_all: bool = False,
    ) -> None:
        """Make ``to`` the manager (R03: no longer a worker, in the same event); their tenure as it stands (R05)."""
        self._record(
            ManagerChanged,
            previous=self.manager,
            manager=to,
            how=how,
            reason=reason,
            by=by,
            timer_id=timer_id,
            removed_from_workers=to in self.workers,
            to_catch_all=to_catch_all,
            at=ctx.at,
            manager_since=ctx.tenure_start(to, ctx.at),
        )
