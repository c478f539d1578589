"""Incident events (subject = incident id, sequence = incident version)."""
from typing import Literal

from shared.contract.base import Data, PersonId


class IncidentDeclared(Data):
    title: str
    description: str
    aspect: str
    severity: int
    manager: PersonId
    smes: list[PersonId]
    declared_by: PersonId
    process_version: int
    # Who was paged and must acknowledge: the first SME, the named manager, or the catch-all (R02, R10).
    paged: PersonId
    coverage_gap: bool = False


class PageAcknowledged(Data):
    person: PersonId


class PageUnanswered(Data):
    """R11: every SME and the catch-all were paged in vain; observers are told, the last paged stays manager."""
    paged: PersonId
    timer_id: str


class RoleChanged(Data):
    """A worker, SME or observer added or removed by the manager or an admin."""
    person: PersonId
    by: PersonId


class WorkerAdded(RoleChanged):
    # R19: how long this person has been on incidents in the last 24 hours, and whether that is too long.
    worked_seconds_last_24h: int = 0
    fresh: bool = True


class PrManagerAssigned(Data):
    person: PersonId
    previous: PersonId | None = None
    by: PersonId


class HandoverOffered(Data):
    to: PersonId
    briefing: str
    by: PersonId


class HandoverDeclined(Data):
    to: PersonId
    by: PersonId


class ManagerChanged(Data):
    """Accepted or forced handover, or an escalation of an unanswered page (then the new manager is paged)."""
    previous: PersonId
    manager: PersonId
    how: Literal["accepted", "forced", "escalated"]
    reason: str = ""
    by: PersonId
    # R03: the new manager stops being a worker in the same event.
    removed_from_workers: bool = False
    # Escalation past the aspect's SMEs to the process's catch-all SME.
    to_catch_all: bool = False


class ShiftLimitBreached(Data):
    """R05: the manager reached manager_shift_limit of continuous tenure; only handing over remains."""
    manager: PersonId
    tenure_started_at: str
    limit: str


class SeverityInputGiven(Data):
    level: int
    comment: str
    by: PersonId


class SeverityChanged(Data):
    previous: int
    severity: int
    reason: str
    by: PersonId
    # Sequence numbers of the severity_input_given events the manager considered (R13).
    considered_input: list[int] = []


class StatusRequested(Data):
    by: PersonId
    workers: list[PersonId]


class StatusUpdated(Data):
    """R06: a worker's honest, complete update; never edited, a correction is a new update."""
    worker: PersonId
    learned: str
    tried: str
    outcome: str
    working_on: str
    remaining: str


class ObserversBriefed(Data):
    summary: str
    by: PersonId


class PublicUpdatePosted(Data):
    message: str
    by: PersonId


class AffectedInfoRequested(Data):
    question: str
    by: PersonId


class AffectedInfoReported(Data):
    findings: str
    by: PersonId


class ChecklistStepCompleted(Data):
    step: str
    level: int
    by: PersonId


class IncidentResolved(Data):
    resolution: str
    test_plan: str
    by: PersonId


class IncidentReopened(Data):
    reason: str
    by: PersonId


class IncidentClosed(Data):
    """R16: the post-mortem was published; the incident takes no more commands."""
    by: PersonId
