"""The incident service's aggregates and the rules they enforce (no I/O here).

Stored events keep this module's path as their topic (``services.incident.domain:…``):
moving or renaming these classes needs the old topics registered (see tests).
Public command methods check the rules and then trigger a private ``@event`` method,
whose body only records the change, so replaying history never re-checks rules.
"""
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.incident import policy
from services.incident.errors import Conflict, Forbidden, Invalid
from services.incident.policy import Actor

PROCESS_ID = uuid5(NAMESPACE_URL, "warroom:process")
DIRECTORY_ID = uuid5(NAMESPACE_URL, "warroom:directory")
ADMIN_ID = uuid5(NAMESPACE_URL, "warroom:admin")
ADMIN_CREDENTIAL_ID = uuid5(NAMESPACE_URL, "warroom:admin-credential")


def token_id_for(token_hash: str) -> UUID:
    """A token is found by its hash alone, so its id is derived from it."""
    return uuid5(NAMESPACE_URL, f"warroom:token:{token_hash}")


class Person(Aggregate):
    @event("Registered")
    def __init__(self, id: UUID, name: str, email: str, timezone: str, phone: str | None, groups: list[str],
                 working_hours: dict, waking_hours: dict | None, webhook_url: str | None, admin: bool):
        self.name, self.email, self.timezone, self.phone = name, email, timezone, phone
        self.groups, self.working_hours, self.waking_hours = groups, working_hours, waking_hours
        self.webhook_url, self.admin = webhook_url, admin


class Token(Aggregate):
    @event("Issued")
    def __init__(self, id: UUID, person_id: str, token_hash: str):
        self.person_id, self.token_hash, self.revoked = person_id, token_hash, False

    @event("Revoked")
    def revoke(self) -> None:
        self.revoked = True

    def reinstate(self) -> None:
        self._reinstated(person_id=self.person_id, token_hash=self.token_hash)

    @event("Reinstated")
    def _reinstated(self, person_id: str, token_hash: str) -> None:
        self.revoked = False


class AdminCredential(Aggregate):
    """Which token is the built-in admin's (WARROOM_ADMIN_TOKEN), so rotating it revokes the old one."""

    @event("Set")
    def __init__(self, id: UUID, token_id: str):
        self.token_id = token_id

    @event("Rotated")
    def rotate(self, token_id: str) -> None:
        self.token_id = token_id


class Process(Aggregate):
    """Every version of the process document; incidents pin the version they were declared under."""

    @event("Established")
    def __init__(self, id: UUID, version: int, document: dict, by: str, cites_postmortem: str | None):
        self.versions: list[dict] = [document]

    @event("VersionPublished")
    def _published(self, version: int, document: dict, by: str, cites_postmortem: str | None) -> None:
        self.versions.append(document)

    @property
    def current_version(self) -> int:
        return len(self.versions)

    @property
    def current(self) -> dict:
        return self.versions[-1]

    def publish(self, document: dict, by: str, cites_postmortem: str | None = None) -> None:
        self._published(version=self.current_version + 1, document=document, by=by,
                        cites_postmortem=cites_postmortem)


class Directory(Aggregate):
    """The SME directory: per aspect of the company, the SMEs in the order they are paged (R10)."""

    @event("Opened")
    def __init__(self, id: UUID, aspect: str, smes: list[str], by: str):
        self.aspects: dict[str, list[str]] = {aspect: smes}

    @event("AspectSet")
    def set_aspect(self, aspect: str, smes: list[str], by: str) -> None:
        self.aspects[aspect] = smes


class Incident(Aggregate):
    @event("Declared")
    def __init__(self, title: str, description: str, aspect: str, severity: int, manager: str,
                 smes: list[str], declared_by: str, process_version: int, paged: str,
                 coverage_gap: bool, at: datetime):
        self.title, self.description, self.aspect, self.severity = title, description, aspect, severity
        self.manager, self.smes, self.declared_by = manager, list(smes), declared_by
        self.process_version, self.paged, self.coverage_gap = process_version, paged, coverage_gap
        self.status, self.workers, self.observers = "open", [], []
        self.pr_manager: str | None = None
        self.handover_offer: dict | None = None
        self.declared_at, self.resolved_at, self.closed_at = at, None, None
        self.resolution: dict | None = None

    # --- who is who ---

    def roles_of(self, person: str) -> set[str]:
        roles = set()
        if person == self.manager:
            roles.add("manager")
        if person in self.workers:
            roles.add("worker")
        if person in self.smes:
            roles.add("sme")
        if person in self.observers:
            roles.add("observer")
        if person == self.pr_manager:
            roles.add("pr_manager")
        return roles

    def _authorize(self, action: str, actor: Actor) -> None:
        if not policy.allowed(action, actor, self):
            raise Forbidden(f"{action.replace('_', ' ')} is not permitted to this caller on this incident",
                            rule=policy.rule_for(action))

    def _require_open(self) -> None:
        if self.status == "closed":
            raise Conflict("the incident is closed", rule="R15")
        if self.status != "open":
            raise Conflict(f"the incident is {self.status}", rule="R15")

    # --- workers (R03) ---

    def add_worker(self, person: str, actor: Actor) -> None:
        self._require_open()
        self._authorize("manage_roles", actor)
        if person == self.manager:
            raise Conflict("the manager never works on the problem: hand the role over first", rule="R03")
        if person == self.pr_manager:
            raise Conflict("the PR manager cannot be a worker", rule="R08")
        if person in self.workers:
            raise Conflict("already a worker of this incident", rule="R03")
        self._worker_added(person=person, by=actor.person_id)

    @event("WorkerAdded")
    def _worker_added(self, person: str, by: str) -> None:
        self.workers.append(person)

    def remove_worker(self, person: str, actor: Actor) -> None:
        self._require_open()
        self._authorize("manage_roles", actor)
        if person not in self.workers:
            raise Conflict("not a worker of this incident", rule="R03")
        self._worker_removed(person=person, by=actor.person_id)

    @event("WorkerRemoved")
    def _worker_removed(self, person: str, by: str) -> None:
        self.workers.remove(person)

    # --- handover (R04) ---

    def offer_handover(self, to: str, briefing: str, actor: Actor) -> None:
        self._require_open()
        self._authorize("offer_handover", actor)
        if to == self.manager:
            raise Conflict("the offeree already manages this incident", rule="R04")
        if to == self.pr_manager:
            raise Conflict("the PR manager cannot become manager", rule="R08")
        if not briefing.strip():
            raise Invalid("a handover needs a briefing", rule="R04",
                          errors=[{"field": "briefing", "message": "must not be blank"}])
        self._handover_offered(to=to, briefing=briefing, by=actor.person_id)

    @event("HandoverOffered")
    def _handover_offered(self, to: str, briefing: str, by: str) -> None:
        self.handover_offer = {"to": to, "briefing": briefing, "by": by}

    def _pending_offer_to(self, actor: Actor) -> dict:
        self._require_open()
        if self.handover_offer is None:
            raise Conflict("no handover is on offer", rule="R04")
        if self.handover_offer["to"] != actor.person_id:
            raise Forbidden("only the offeree may answer a handover offer", rule="R04")
        return self.handover_offer

    def accept_handover(self, actor: Actor, at: datetime) -> None:
        self._pending_offer_to(actor)
        self._manager_changed(previous=self.manager, manager=actor.person_id, how="accepted", reason="",
                              by=actor.person_id, removed_from_workers=actor.person_id in self.workers, at=at)

    def decline_handover(self, actor: Actor) -> None:
        offer = self._pending_offer_to(actor)
        self._handover_declined(to=offer["to"], by=actor.person_id)

    @event("HandoverDeclined")
    def _handover_declined(self, to: str, by: str) -> None:
        self.handover_offer = None

    @event("ManagerChanged")
    def _manager_changed(self, previous: str, manager: str, how: str, reason: str, by: str,
                         removed_from_workers: bool, at: datetime) -> None:
        self.manager = manager
        if removed_from_workers:  # R03, in the same event
            self.workers.remove(manager)
        self.handover_offer = None

    # --- severity (R13) ---

    def change_severity(self, level: int, reason: str, levels: set[int], actor: Actor) -> None:
        self._require_open()
        self._authorize("change_severity", actor)
        if level not in levels:
            raise Invalid(f"level {level} is not a level of this incident's process", rule="R09",
                          errors=[{"field": "level", "message": f"one of {sorted(levels)}"}])
        if not reason.strip():
            raise Invalid("a severity change needs a reason", rule="R13",
                          errors=[{"field": "reason", "message": "must not be blank"}])
        if level == self.severity:
            raise Conflict(f"the incident is already at level {level}", rule="R13")
        self._severity_changed(previous=self.severity, severity=level, reason=reason, by=actor.person_id)

    @event("SeverityChanged")
    def _severity_changed(self, previous: int, severity: int, reason: str, by: str) -> None:
        self.severity = severity

    # --- lifecycle (R15) ---

    def resolve(self, resolution: str, test_plan: str, actor: Actor, at: datetime) -> None:
        self._require_open()
        self._authorize("resolve", actor)
        missing = [name for name, value in (("resolution", resolution), ("test_plan", test_plan))
                   if not value.strip()]
        if missing:
            raise Invalid("resolving needs a resolution and the test plan that verified the fix", rule="R15",
                          errors=[{"field": name, "message": "must not be blank"} for name in missing])
        self._resolved(resolution=resolution, test_plan=test_plan, by=actor.person_id, at=at)

    @event("Resolved")
    def _resolved(self, resolution: str, test_plan: str, by: str, at: datetime) -> None:
        self.status, self.resolved_at = "resolved", at
        self.resolution = {"resolution": resolution, "test_plan": test_plan}
        self.handover_offer = None
