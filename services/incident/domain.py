"""The incident aggregate: its state, and what each of its events records (no I/O here).

The commands, which check the rules and then trigger an event, are mixins by area: domain_paging,
domain_roles, domain_handover, domain_severity, domain_communications, domain_lifecycle (with the
checks they share in domain_guards). Every ``@event`` method stays on ``Incident`` in this module:
eventsourcing names an event class after the class that defines the decorated method, and stored
events carry that name in their topic (``services.incident.domain:Incident.…``). On a mixin the
method would make an event class named after the mixin, or, on a plain mixin, no event class at all.

An event method's body only records the change, so replaying the history never re-checks a rule.
"""
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.incident import moment
from services.incident.copying import CheapCopy
from services.incident.domain_communications import CommunicationCommands
from services.incident.domain_handover import HandoverCommands
from services.incident.domain_lifecycle import LifecycleCommands
from services.incident.domain_paging import PagingCommands
from services.incident.domain_roles import RoleCommands
from services.incident.domain_severity import SeverityCommands


class Incident(PagingCommands, RoleCommands, HandoverCommands, SeverityCommands, CommunicationCommands,
               LifecycleCommands, CheapCopy, Aggregate):
    class Event(Aggregate.Event):
        # Stamped with the command's moment, the instant its rules used (moment.py).
        create_timestamp = staticmethod(moment.now)

    # When the current manager took this incident on (declared, handed over, escalated, reopened): their
    # shift deadlines are never before it (R05). A class default, for snapshots taken before it was kept.
    taken_on_at = None
    # Per worker, since when their next status update is counted (R06): joining, the manager's last
    # request, their own last update, a reopening. A class default, for snapshots taken before it was kept.
    status_since = None
    # The level the current page was sent under: its immediacy and acknowledge_within decide when it is
    # due, whatever the level becomes later (R11). A class default, for snapshots taken before it was kept.
    paged_severity = None

    @event("Declared")
    def __init__(self, title: str, description: str, aspect: str, severity: int, manager: str,
                 smes: list[str], declared_by: str, process_version: int, paged: str,
                 coverage_gap: bool, at: datetime, manager_since: datetime):
        self.title, self.description, self.aspect, self.severity = title, description, aspect, severity
        self.manager, self.smes, self.declared_by = manager, list(smes), declared_by
        self.process_version, self.paged, self.coverage_gap = process_version, paged, coverage_gap
        self.status, self.workers, self.observers = "open", [], []
        self.tired_workers: list[str] = []  # R19: added although already long on incidents
        self.pr_manager: str | None = None
        self.handover_offer: dict | None = None
        self.declared_at, self.resolved_at, self.closed_at = at, None, None
        self.level_since = at
        self.acknowledged, self.pages, self.paged_at = False, [paged], at
        self.paged_severity = severity
        self.managers = [manager]  # everyone who ever managed it, in order
        # When the manager's continuous tenure began (R05): fixed while they manage this incident.
        self.manager_since, self.taken_on_at = manager_since, at
        self.handled_timers: list[str] = []  # a list: snapshots serialise the state as JSON
        self.breaches: list[dict] = []
        self.severity_inputs: list[dict] = []
        self.checklist_done: dict[str, dict] = {}
        self.last_status_at, self.last_public_update_at = at, at
        self.status_updates = 0
        self.resolution: dict | None = None

    # --- the page (domain_paging) ---

    @event("Acknowledged")
    def _acknowledged(self, person: str) -> None:
        self.acknowledged = True

    @event("PageUnanswered")
    def _page_unanswered(self, paged: str, timer_id: str) -> None:
        self.handled_timers.append(timer_id)

    # --- roles (domain_roles) ---

    class WorkerAdded(Aggregate.Event):
        """Version 2 added R19's freshness (version 1 reads as a fresh worker with no time counted);
        version 3 when they joined (version 2 reads as joined at the incident's last status moment)."""
        person: str
        by: str
        worked_seconds_last_24h: int
        fresh: bool
        at: datetime | None
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state.setdefault("worked_seconds_last_24h", 0)
            state.setdefault("fresh", True)

        @staticmethod
        def upcast_v2_v3(state: dict) -> None:
            state.setdefault("at", None)

    @event(WorkerAdded)
    def _worker_added(self, person: str, by: str, worked_seconds_last_24h: int, fresh: bool,
                      at: datetime | None) -> None:
        self.workers.append(person)
        self._status_since()[person] = at or self.last_status_at
        if not fresh:
            self.tired_workers.append(person)

    @event("WorkerRemoved")
    def _worker_removed(self, person: str, by: str) -> None:
        self.workers.remove(person)
        self._status_since().pop(person, None)
        if person in self.tired_workers:
            self.tired_workers.remove(person)

    def _status_since(self) -> dict:
        """For event bodies: the per-worker record, made from the older state when it was not kept."""
        if self.status_since is None:
            self.status_since = self.status_counted_from()
        return self.status_since

    def status_counted_from(self) -> dict:
        """R06: per worker, the moment their next status update is counted from (a copy: reading changes nothing)."""
        if self.status_since is None:  # state from before it was kept
            return {worker: self.last_status_at for worker in self.workers}
        return dict(self.status_since)

    @event("SmeAdded")
    def _sme_added(self, person: str, by: str) -> None:
        self.smes.append(person)

    @event("SmeRemoved")
    def _sme_removed(self, person: str, by: str) -> None:
        self.smes.remove(person)

    @event("ObserverAdded")
    def _observer_added(self, person: str, by: str) -> None:
        self.observers.append(person)

    @event("ObserverRemoved")
    def _observer_removed(self, person: str, by: str) -> None:
        self.observers.remove(person)

    @event("PrManagerAssigned")
    def _pr_manager_assigned(self, person: str, previous: str | None, by: str) -> None:
        self.pr_manager = person

    # --- who manages: handover, escalation, the shift limit (domain_handover, domain_paging) ---

    @event("HandoverOffered")
    def _handover_offered(self, to: str, briefing: str, by: str) -> None:
        self.handover_offer = {"to": to, "briefing": briefing, "by": by}

    @event("HandoverDeclined")
    def _handover_declined(self, to: str, by: str) -> None:
        self.handover_offer = None

    @event("ManagerChanged")
    def _manager_changed(self, previous: str, manager: str, how: str, reason: str, by: str, timer_id: str | None,
                         removed_from_workers: bool, to_catch_all: bool, at: datetime,
                         manager_since: datetime) -> None:
        self.manager, self.manager_since, self.taken_on_at = manager, manager_since, at
        if removed_from_workers:  # R03, in the same event
            self.workers.remove(manager)
            self._status_since().pop(manager, None)
            if manager in self.tired_workers:
                self.tired_workers.remove(manager)
        if manager not in self.managers:
            self.managers.append(manager)
        self.handover_offer = None
        if how == "escalated":  # the new manager is paged and must acknowledge in turn
            self.paged, self.acknowledged, self.paged_at = manager, False, at
            self.paged_severity = self.severity
            self.pages.append(manager)
            self.handled_timers.append(timer_id)

    @event("ShiftLimitBreached")
    def _shift_limit_breached(self, manager: str, tenure_started_at: str, limit: str, timer_id: str) -> None:
        self.breaches.append({"manager": manager, "tenure_started_at": tenure_started_at})
        self.handled_timers.append(timer_id)

    # --- severity and the checklist (domain_severity) ---

    @event("SeverityInputGiven")
    def _severity_input_given(self, level: int, comment: str, by: str) -> None:
        self.severity_inputs.append({"sequence": self.version + 1, "level": level, "comment": comment, "by": by})

    @event("SeverityChanged")
    def _severity_changed(self, previous: int, severity: int, reason: str, by: str, considered_input: list[int],
                          at: datetime) -> None:
        self.severity, self.level_since = severity, at

    @event("ChecklistStepCompleted")
    def _step_completed(self, step: str, level: int, by: str, at: datetime) -> None:
        self.checklist_done[step] = {"level": level, "by": by, "at": at}

    # --- status, briefings, public updates, affected users (domain_communications) ---

    @event("StatusRequested")
    def _status_requested(self, by: str, workers: list[str], at: datetime) -> None:
        self.last_status_at = at
        since = self._status_since()
        for worker in workers:
            if worker in since:
                since[worker] = at

    @event("StatusUpdated")
    def _status_updated(self, worker: str, learned: str, tried: str, outcome: str, working_on: str, remaining: str,
                        at: datetime) -> None:
        self.status_updates += 1
        self.last_status_at = at
        if worker in self._status_since():
            self.status_since[worker] = at

    @event("ObserversBriefed")
    def _observers_briefed(self, summary: str, by: str) -> None:
        pass

    @event("PublicUpdatePosted")
    def _public_update_posted(self, message: str, by: str, at: datetime) -> None:
        self.last_public_update_at = at

    @event("AffectedInfoRequested")
    def _affected_info_requested(self, question: str, by: str) -> None:
        pass

    @event("AffectedInfoReported")
    def _affected_info_reported(self, findings: str, by: str) -> None:
        pass

    # --- lifecycle (domain_lifecycle) ---

    @event("Resolved")
    def _resolved(self, resolution: str, test_plan: str, by: str, at: datetime) -> None:
        self.status, self.resolved_at = "resolved", at
        self.resolution = {"resolution": resolution, "test_plan": test_plan}
        self.handover_offer = None

    @event("Reopened")
    def _reopened(self, reason: str, by: str, at: datetime, manager_since: datetime) -> None:
        self.status, self.resolved_at, self.resolution = "open", None, None
        self.manager_since, self.taken_on_at = manager_since, at  # managing again: a tenure resumed or begun
        # The cadences start again from the reopening, as the timers restart them (R06, R08).
        self.last_status_at = self.last_public_update_at = at
        self.status_since = {worker: at for worker in self.workers}

    @event("Closed")
    def _closed(self, by: str, at: datetime) -> None:
        self.status, self.closed_at, self.handover_offer = "closed", at, None
