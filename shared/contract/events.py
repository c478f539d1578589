"""The published event contract: every versioned event type and its data model.

These types are what other services and other systems see. A changed meaning is a new
version (``.v2``) beside the old one, never an edit; `schemas.py` writes a JSON Schema
per type into ``shared/contract/schemas/`` and a test fails when they drift apart.
"""

from typing import Any, get_args

from shared.contract import alerts
from shared.contract import downstream as down
from shared.contract import incident as inc
from shared.contract import organisation as org
from shared.contract.base import Data

TIMER_KINDS: tuple[str, ...] = get_args(down.TimerKind)

EVENT_TYPES: dict[str, type[Data]] = {
    "warroom.person.registered.v1": org.PersonRegistered,
    "warroom.person.updated.v1": org.PersonUpdated,
    "warroom.person.deactivated.v1": org.PersonDeactivated,
    "warroom.person.activated.v1": org.PersonActivated,
    "warroom.token.issued.v1": org.TokenIssued,
    "warroom.token.revoked.v1": org.TokenRevoked,
    "warroom.token.expiry_set.v1": org.TokenExpirySet,
    "warroom.directory.aspect_set.v1": org.AspectSmesSet,
    "warroom.process.published.v1": org.ProcessPublished,
    "warroom.report.filed.v1": org.MinorReportFiled,
    "warroom.report.alerts_added.v1": org.MinorReportAlertsAdded,
    "warroom.incident.declared.v1": inc.IncidentDeclared,
    "warroom.incident.acknowledged.v1": inc.PageAcknowledged,
    "warroom.incident.page_unanswered.v1": inc.PageUnanswered,
    "warroom.incident.worker_added.v1": inc.WorkerAdded,
    "warroom.incident.worker_removed.v1": inc.RoleChanged,
    "warroom.incident.sme_added.v1": inc.RoleChanged,
    "warroom.incident.sme_removed.v1": inc.RoleChanged,
    "warroom.incident.observer_added.v1": inc.RoleChanged,
    "warroom.incident.observer_removed.v1": inc.RoleChanged,
    "warroom.incident.pr_manager_assigned.v1": inc.PrManagerAssigned,
    "warroom.incident.handover_offered.v1": inc.HandoverOffered,
    "warroom.incident.handover_declined.v1": inc.HandoverDeclined,
    "warroom.incident.manager_changed.v1": inc.ManagerChanged,
    "warroom.incident.shift_limit_breached.v1": inc.ShiftLimitBreached,
    "warroom.incident.severity_input_given.v1": inc.SeverityInputGiven,
    "warroom.incident.severity_changed.v1": inc.SeverityChanged,
    "warroom.incident.status_requested.v1": inc.StatusRequested,
    "warroom.incident.status_updated.v1": inc.StatusUpdated,
    "warroom.incident.observers_briefed.v1": inc.ObserversBriefed,
    "warroom.incident.public_update_posted.v1": inc.PublicUpdatePosted,
    "warroom.incident.affected_info_requested.v1": inc.AffectedInfoRequested,
    "warroom.incident.affected_info_reported.v1": inc.AffectedInfoReported,
    "warroom.incident.checklist_step_completed.v1": inc.ChecklistStepCompleted,
    "warroom.incident.resolved.v1": inc.IncidentResolved,
    "warroom.incident.reopened.v1": inc.IncidentReopened,
    "warroom.incident.closed.v1": inc.IncidentClosed,
    "warroom.incident.alerts_attached.v1": alerts.AlertsAttached,
    "warroom.incident.alerts_resolved.v1": alerts.AlertsResolved,
    **{f"warroom.timer.{kind}.v1": down.TimerFired for kind in TIMER_KINDS},
    "warroom.notification.delivered.v1": down.NotificationDelivered,
    "warroom.postmortem.published.v1": down.PostmortemPublished,
    "warroom.postmortem.action_item_added.v1": down.ActionItemAdded,
}


def timer_type(kind: str) -> str:
    return f"warroom.timer.{kind}.v1"


def validate(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check data against its type's model; returns it JSON-ready."""
    return EVENT_TYPES[event_type].model_validate(data).model_dump(mode="json")
