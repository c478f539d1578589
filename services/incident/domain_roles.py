"""Incident commands for who holds which role: workers, SMEs, observers, the PR manager (R01, R03, R07, R08).

The ``_…`` event methods these trigger are on ``Incident`` in domain.py (why: see there). No I/O here.
"""
from services.incident.domain_context import Context
from services.incident.domain_guards import Guards
from services.incident.errors import Conflict, NotFound


class RoleCommands(Guards):
    def add_worker(self, person: str, worked_seconds: int, fresh: bool, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        if person == self.manager:
            raise Conflict("the manager never works on the problem: hand the role over first", rule="R03")
        if person == self.pr_manager:
            raise Conflict("the PR manager cannot be a worker", rule="R08")
        if person in self.workers:
            raise Conflict("already a worker of this incident", rule="R01")
        self._worker_added(person=person, by=ctx.actor.person_id, worked_seconds_last_24h=worked_seconds,
                           fresh=fresh, at=ctx.at)

    def remove_worker(self, person: str, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        if person not in self.workers:
            raise NotFound("not a worker of this incident", rule="R01")
        self._worker_removed(person=person, by=ctx.actor.person_id)

    def add_member(self, role: str, person: str, ctx: Context) -> None:
        """Add an SME or an observer."""
        self._command("manage_roles", ctx)
        members = self.smes if role == "sme" else self.observers
        if person in members:
            raise Conflict(f"already an {role} of this incident", rule="R01")
        (self._sme_added if role == "sme" else self._observer_added)(person=person, by=ctx.actor.person_id)

    def remove_member(self, role: str, person: str, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        members = self.smes if role == "sme" else self.observers
        if person not in members:
            raise NotFound(f"not an {role} of this incident", rule="R01")
        if role == "sme" and members == [person]:
            raise Conflict("an incident keeps at least one SME", rule="R01")
        (self._sme_removed if role == "sme" else self._observer_removed)(person=person, by=ctx.actor.person_id)

    def assign_pr_manager(self, person: str, ctx: Context) -> None:
        """R08: the PR manager is neither the manager nor a worker, nor may they become manager. So the
        offeree of a pending handover cannot be made PR manager: the offer would stand for someone
        who may not accept it. Withdraw the offer (a new offer replaces it) or let them decline first."""
        self._command("manage_roles", ctx)
        if person == self.manager or person in self.workers:
            raise Conflict("the PR manager must be neither the manager nor a worker", rule="R08")
        if self.handover_offer is not None and self.handover_offer["to"] == person:
            raise Conflict("the handover is on offer to this person, and the PR manager cannot become manager: "
                           "offer it to someone else or let them decline first", rule="R08")
        if person == self.pr_manager:
            raise Conflict("already the PR manager of this incident", rule="R08")
        self._pr_manager_assigned(person=person, previous=self.pr_manager, by=ctx.actor.person_id)
