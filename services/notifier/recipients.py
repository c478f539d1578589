"""Who is told about an event, in which role, why, through which channel and how urgently.

Pure: the incident (as projected), the level's policy and the event decide. Observers named by
group stay a group here; the handler expands a group to its members.
"""

from dataclasses import dataclass
from typing import Any

from services.notifier.incidents import IncidentView
from services.notifier.names import EMAIL, PHONE, SMS, WEBHOOK
from shared.process.hours import ANY_HOUR, NEXT_BUSINESS_DAY
from shared.process.rules import Level

INCIDENT, TIMER = "warroom.incident.", "warroom.timer."
OBSERVER_SUMMARY_DUE = "warroom.timer.observer_summary_due.v1"
POSTMORTEM_PUBLISHED = "warroom.postmortem.published.v1"
REPORT_FILED = "warroom.report.filed.v1"

# The level's observer channel. Phone and SMS go to the person's Apprise URL for them (phones.py), and
# reach a person without one however they can be reached (handlers._channels).
_CHANNELS = {"webhook": WEBHOOK, "email": EMAIL, "phone": PHONE, "sms": SMS}


@dataclass(frozen=True)
class Notice:
    """Tell ``person`` (or every member of ``group``) about the event as ``role``, because of ``reason``."""

    reason: str
    role: str
    person: str | None = None
    group: str | None = None
    channel: str | None = None  # None: every channel the person can be reached on
    immediacy: str | None = None  # None: the level's


def _one(person: str | None, reason: str, role: str, immediacy: str | None = None) -> list[Notice]:
    return [Notice(reason, role, person=person, immediacy=immediacy)] if person else []


def _each(people, reason: str, role: str, immediacy: str | None = None) -> list[Notice]:
    return [Notice(reason, role, person=p, immediacy=immediacy) for p in people]


def observers(incident: IncidentView, level: Level, reason: str, immediacy: str | None = None) -> list[Notice]:
    """R07: the level's observers (people or groups, each with its channel and immediacy), then the incident's own."""
    policy = [
        Notice(
            reason,
            "observer",
            person=entry.person,
            group=entry.group,
            channel=_CHANNELS.get(entry.channel),
            immediacy=immediacy or entry.immediacy,
        )
        for entry in level.observers
    ]
    return policy + _each(incident.observers, reason, "observer", immediacy)


def participants(incident: IncidentView, reason: str, but: str | None = None) -> list[Notice]:
    """Everyone holding a role in it now, each in that role (the manager first), except ``but``."""
    everyone = (
        _one(incident.manager, reason, "manager")
        + _each(incident.workers, reason, "worker")
        + _each(incident.smes, reason, "sme")
        + _one(incident.pr_manager, reason, "pr_manager")
    )
    first = {notice.person: notice for notice in reversed(everyone)}  # each in their most involved role
    return [notice for notice in everyone if notice.person != but and first[notice.person] is notice]


def notices(event_type: str, data: dict[str, Any], incident: IncidentView, level: Level) -> list[Notice]:
    """Everyone this event concerns, the most involved first (a person told twice hears the first)."""
    if event_type.startswith(TIMER):
        # A timer that outlived its incident's resolution has nobody left to remind.
        return _timer(event_type[len(TIMER) : -len(".v1")], data, incident, level) if incident.status == "open" else []
    if event_type == POSTMORTEM_PUBLISHED:
        # Reading it is work, not an emergency: within each person's working hours.
        return _each(incident.participants, "postmortem_published", "participant", NEXT_BUSINESS_DAY) + observers(
            incident, level, "postmortem_published", NEXT_BUSINESS_DAY
        )
    if not event_type.startswith(INCIDENT):
        return []
    return _incident(event_type[len(INCIDENT) : -len(".v1")], data, incident, level)


def _incident(name: str, data: dict[str, Any], incident: IncidentView, level: Level) -> list[Notice]:
    match name:
        case "declared":
            return _declared(data, incident, level)
        case "manager_changed" if data["how"] == "escalated":
            return _one(data["manager"], "escalated", "manager")  # R11: paged, must acknowledge
        case "manager_changed" if data["how"] == "forced":
            return _one(data["manager"], "handover_forced", "manager")
        case "manager_changed" if data["how"] == "accepted":
            # R04: the offering manager stays in charge until the acceptance, so they must hear of it.
            return _one(data["previous"], "handover_accepted", "previous_manager")
        case "page_unanswered":
            return observers(incident, level, "page_unanswered")
        case "handover_offered":
            return _one(data["to"], "handover_offered", "offeree")
        case "handover_declined":
            # Any change of manager withdraws a pending offer, so the one declined is the current manager's.
            return _one(incident.manager, "handover_declined", "manager")
        case "shift_limit_breached":
            # R05: the breach is escalated to the manager, the SMEs and the observers.
            return (
                _one(incident.manager, "shift_limit", "manager")
                + _each(incident.smes, "shift_limit_breached", "sme")
                + observers(incident, level, "shift_limit_breached")
            )
        case "severity_changed":
            # R13: the new level's observers are informed; the PR manager learns the new cadence.
            return observers(incident, level, "severity_changed") + _one(
                incident.pr_manager, "severity_changed", "pr_manager"
            )
        case "severity_input_given":
            return _one(incident.manager, "severity_input", "manager")
        case "status_requested":
            return _each(data["workers"], "status_requested", "worker")
        case "status_updated":
            # R06: the manager asked for it and acts on it, whatever the hour.
            return _one(incident.manager, "status_update", "manager", ANY_HOUR)
        case "resolved" | "reopened":
            # R15: everyone in it and everyone watching it; whoever did it knows.
            return participants(incident, name, but=data["by"]) + observers(incident, level, name)
        case "observers_briefed":
            return observers(incident, level, "observers_briefed")
        case "worker_added":
            stale = [] if data.get("fresh", True) else _one(incident.manager, "worker_not_fresh", "manager")
            return _one(data["person"], "worker_added", "worker") + stale
        case "sme_added":
            return _one(data["person"], "sme_added", "sme")
        case "observer_added":
            return _one(data["person"], "observer_added", "observer")
        case "pr_manager_assigned":
            return _one(data["person"], "pr_manager_assigned", "pr_manager")
        case "affected_info_requested":
            return _one(incident.pr_manager, "affected_info_requested", "pr_manager")
        case "alerts_attached" if not data.get("declaring"):
            # Alerts that declared it reach the manager in the page itself; later ones join it.
            return _one(incident.manager, "alerts_attached", "manager")
        case "alerts_resolved":
            return _one(incident.manager, "alerts_resolved", "manager")  # resolving stays the manager's (R15)
    return []


def _declared(data: dict[str, Any], incident: IncidentView, level: Level) -> list[Notice]:
    """R02: the paged person first of all; the incident's other SMEs learn they are on its list (the
    page may escalate to them); then R07 the level's observers."""
    listed = [sme for sme in dict.fromkeys(data["smes"]) if sme != data["paged"]]
    return (
        _one(data["paged"], "paged", "manager")
        + _each(listed, "sme_listed", "sme")
        + observers(incident, level, "observer")
    )


def _timer(kind: str, data: dict[str, Any], incident: IncidentView, level: Level) -> list[Notice]:
    match kind:
        case "observer_summary_due":
            # R07: every status_update_every, the observers read what the workers reported (R06).
            return observers(incident, level, "status_summary")
        case "handover_warning":
            # R05: the manager and the incident's SMEs are told a handover is due.
            return _one(incident.manager, "handover_due", "manager") + _each(incident.smes, "handover_due", "sme")
        case "status_update_due" | "checklist_step_due":
            return _one(incident.manager, kind, "manager")
        case "public_update_due":
            return _one(incident.manager, kind, "manager") + _one(incident.pr_manager, kind, "pr_manager")
        case "worker_fresh":
            return _one(incident.manager, "worker_not_fresh", "manager")  # R19
    # ack_due: the incident service escalates and we page from its event; shift_limit: likewise its breach.
    return []
