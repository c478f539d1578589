"""The incident aggregate, assembled from its areas (no I/O here).

Each area module holds its commands and the events they record, side by side:

- ``roles.py`` — workers, SMEs, observers, the PR manager, and the change of manager (R01, R03, R08, R19)
- ``handover.py`` — offering, accepting, declining and forcing a handover; the shift limit (R04, R05)
- ``paging.py`` — acknowledging the page and escalating it when unanswered (R02, R11)
- ``severity.py`` — severity input and changes of level (R07, R09, R13)
- ``checklist.py`` — completing the current level's checklist steps (R14)
- ``communications.py`` — status, observer briefings, public updates, affected users (R06, R07, R08)
- ``lifecycle.py`` — resolving, reopening, closing (R15, R16)
- ``alerts.py`` — Alertmanager's alerts recorded on the incident their group declared
- ``base.py`` — what they share: the command's ``Context``, the state, the event base, the guards

Stored events name their class in their topic, ``services.incident.domain:Incident.<Name>``, and
stored events are forever. So each area's events are attached to ``Incident`` below, where
eventsourcing makes each its own subclass ``Incident.<Name>``: the class the commands record (``_record``)
and the stored topics resolve to, whichever area module defines the event.
"""

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.incident.copying import CheapCopy
from services.incident.domain import alerts, checklist, communications, handover, lifecycle, paging, roles, severity
from services.incident.domain.base import Context, IncidentEvent

__all__ = ["Context", "Incident"]


class Incident(
    paging.Paging,
    handover.Handover,
    roles.Roles,
    severity.Severity,
    checklist.Checklist,
    communications.Communications,
    lifecycle.Lifecycle,
    alerts.Alerts,
    CheapCopy,
    Aggregate,
):
    class Event(IncidentEvent):
        """Every event of the incident, stamped with the command's moment (base.IncidentEvent)."""

    @event("Declared")
    def __init__(
        self,
        title: str,
        description: str,
        aspect: str,
        severity: int,
        manager: str,
        smes: list[str],
        declared_by: str,
        process_version: int,
        paged: str,
        coverage_gap: bool,
        at: datetime,
        manager_since: datetime,
    ):
        self.title, self.description, self.aspect, self.severity = title, description, aspect, severity
        self.manager, self.smes, self.declared_by = manager, list(smes), declared_by
        self.process_version, self.paged, self.coverage_gap = process_version, paged, coverage_gap
        self.status, self.workers, self.observers = "open", [], []
        self.tired_workers, self.pr_manager, self.handover_offer = [], None, None
        self.declared_at, self.resolved_at, self.closed_at = at, None, None
        self.level_since = at
        self.acknowledged, self.pages, self.paged_at = False, [paged], at
        self.paged_severity = severity
        self.managers = [manager]
        # When the manager's continuous tenure began (R05): fixed while they manage this incident.
        self.manager_since, self.taken_on_at = manager_since, at
        self.handled_timers, self.breaches, self.severity_inputs, self.checklist_done = [], [], [], {}
        self.last_status_at, self.last_public_update_at = at, at
        self.status_updates = 0
        self.resolution = None

    Acknowledged, PageUnanswered = paging.Acknowledged, paging.PageUnanswered
    WorkerAdded, WorkerRemoved = roles.WorkerAdded, roles.WorkerRemoved
    SmeAdded, SmeRemoved = roles.SmeAdded, roles.SmeRemoved
    ObserverAdded, ObserverRemoved = roles.ObserverAdded, roles.ObserverRemoved
    PrManagerAssigned, ManagerChanged = roles.PrManagerAssigned, roles.ManagerChanged
    HandoverOffered, HandoverDeclined = handover.HandoverOffered, handover.HandoverDeclined
    ShiftLimitBreached = handover.ShiftLimitBreached
    SeverityInputGiven, SeverityChanged = severity.SeverityInputGiven, severity.SeverityChanged
    ChecklistStepCompleted = checklist.ChecklistStepCompleted
    StatusRequested, StatusUpdated = communications.StatusRequested, communications.StatusUpdated
    ObserversBriefed, PublicUpdatePosted = communications.ObserversBriefed, communications.PublicUpdatePosted
    AffectedInfoRequested = communications.AffectedInfoRequested
    AffectedInfoReported = communications.AffectedInfoReported
    Resolved, Reopened, Closed = lifecycle.Resolved, lifecycle.Reopened, lifecycle.Closed
    AlertsAttached, AlertsResolved = alerts.AlertsAttached, alerts.AlertsResolved
