"""Incident events (subject = incident id, sequence = incident version)."""

from typing import Annotated, Literal

from shared.contract.base import Data, Key, PersonId
from shared.text import Aspect, Line, Message, Reason, Title


class IncidentDeclared(Data):
    title: Title
    description: Message
    aspect: Aspect
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
    timer_id: Key


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
    briefing: Reason
    by: PersonId


class HandoverDeclined(Data):
    to: PersonId
    by: PersonId


class ManagerChanged(Data):
    """Accepted or forced handover, or an escalation of an unanswered page (then the new manager is paged)."""

    previous: PersonId
    manager: PersonId
    how: Literal["accepted", "forced", "escalated"]
    reason: Reason = ""
    by: PersonId
    # R03: the new manager stops being a worker in the same event.
    removed_from_workers: bool = False
    # Escalation past the aspect's SMEs to the process's catch-all SME.
    to_catch_all: bool = False


class ShiftLimitBreached(Data):
    """R05: the manager reached manager_shift_limit of continuous tenure; only handing over remains."""

    manager: PersonId
    tenure_started_at: Annotated[str, Line(64)]
    limit: Annotated[str, Line(64)]


class SeverityInputGiven(Data):
    level: int
    comment: Reason
    by: PersonId


class SeverityChanged(Data):
    previous: int
    severity: int
    reason: Reason
    by: PersonId
    # Sequence numbers of the severity_input_given events the manager considered (R13).
    considered_input: list[int] = []


class StatusRequested(Data):
    by: PersonId
    workers: list[PersonId]


class StatusUpdated(Data):
    """R06: a worker's honest, complete update; never edited, a correction is a new update."""

    worker: PersonId
    learned: Message
    tried: Message
    outcome: Message
    working_on: Message
    remaining: Message


class ObserversBriefed(Data):
    summary: Message
    by: PersonId


class PublicUpdatePosted(Data):
    message: Message
    by: PersonId


class AffectedInfoRequested(Data):
    question: Message
    by: PersonId


class AffectedInfoReported(Data):
    findings: Message
    by: PersonId


class ChecklistStepCompleted(Data):
    step: Annotated[str, Line(64)]
    level: int
    by: PersonId


class IncidentResolved(Data):
    resolution: Message
    test_plan: Message
    by: PersonId


class IncidentReopened(Data):
    reason: Message
    by: PersonId


class IncidentClosed(Data):
    """R16: the post-mortem was published; the incident takes no more commands."""

    by: PersonId
