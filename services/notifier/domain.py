"""Who is told what, in which words, and how often a failing delivery is retried.

Pure: no SQL, HTTP or NATS here, so the decisions read (and test) on their own.
"""
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared import durations

DECLARED = "warroom.incident.declared.v1"
HANDOVER_OFFERED = "warroom.incident.handover_offered.v1"
MANAGER_CHANGED = "warroom.incident.manager_changed.v1"
SEVERITY_CHANGED = "warroom.incident.severity_changed.v1"
RESOLVED = "warroom.incident.resolved.v1"
HANDOVER_WARNING = "warroom.timer.handover_warning.v1"
SHIFT_LIMIT = "warroom.timer.shift_limit.v1"
DELIVERED = "warroom.notification.delivered.v1"

WEBHOOK = "webhook"

# Webhook retries: 5 s, 10 s, 20 s, … doubling up to an hour apart; after the last attempt
# the delivery is failed (about two and a half hours after the first try).
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 12

# Deliveries are named by what they deliver, so the same notice always has the same id: the
# webhook-id a receiver de-duplicates on, whichever replica or rebuild queues it.
DELIVERY_NAMESPACE = uuid.UUID("2b0f7c1e-5d8a-4f3b-9e61-7a4c2d9e8f10")


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    severity: int
    process_version: int
    manager: str
    status: str


@dataclass(frozen=True)
class Notice:
    """One person to tell about one event, and why."""
    recipient: str
    reason: str


def delivery_id(event_id: str, recipient: str, channel: str) -> str:
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{event_id}:{recipient}:{channel}"))


def notices(event_type: str, data: dict[str, Any], incident: Incident | None) -> list[Notice]:
    """Who this event concerns (flows 1, 3 and 4); other events tell nobody yet."""
    if event_type == DECLARED:
        return [Notice(data["paged"], "paged")]
    if event_type == HANDOVER_OFFERED:
        return [Notice(data["to"], "handover_offered")]
    if event_type == HANDOVER_WARNING and incident is not None:
        return [Notice(incident.manager, "handover_due")]
    if event_type == SHIFT_LIMIT and incident is not None:
        return [Notice(incident.manager, "shift_limit")]
    return []


def retry_delay(attempts: int) -> timedelta | None:
    """How long after failed attempt number ``attempts`` to try again; None once given up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def level_of(process: dict | None, severity: int) -> dict:
    """The process document's policy for a severity level ({} when it is not known here)."""
    for level in (process or {}).get("levels", []):
        if level.get("level") == severity:
            return level
    return {}


def message(reason: str, incident: Incident, level: dict, process: dict | None, data: dict[str, Any],
            names: dict[str, str]) -> str:
    """The sentence a person reads: what happened, at which level, why them, how to talk."""
    subject = f'incident "{incident.title}" ({_level_label(incident.severity, level)})'
    limits = process or {}
    match reason:
        case "paged":
            text = (f"I{subject[1:]} was declared and you are paged {_why_paged(data)}: "
                    f"you manage it from now on until you hand over.")
            if ack := level.get("acknowledge_within"):
                text += f" Acknowledge within {_spoken(ack)}."
        case "handover_offered":
            offerer = names.get(data["by"], data["by"])
            text = (f"{offerer} offers you the manager role of {subject}. Briefing: \"{data['briefing']}\". "
                    f"Accept or decline; {offerer} stays in charge until you accept.")
        case "handover_due":
            after = limits.get("handover_warning_after")
            held = f" for {_spoken(after)}" if after else ""
            text = f"You have managed {subject}{held}: begin the handover now (R05)."
            if limit := limits.get("manager_shift_limit"):
                text += f" Offer the role to someone rested before the shift limit of {_spoken(limit)}."
        case "shift_limit":
            limit = limits.get("manager_shift_limit")
            reached = "the manager shift limit" + (f" of {_spoken(limit)}" if limit else "")
            text = (f"You have reached {reached} on {subject} (R05): hand over now. Until someone "
                    f"else manages, every manager command but offering the handover is refused.")
        case _:
            text = f"News about {subject} ({reason})."
    if communications := level.get("communications"):
        text += f" Communications: {communications.rstrip('.')}."
    return text


def _why_paged(data: dict[str, Any]) -> str:
    if data.get("coverage_gap"):
        return f'as the catch-all subject-matter expert, because aspect "{data["aspect"]}" has no SME'
    if data.get("smes") and data["smes"][0] == data["paged"]:
        return f'as the first subject-matter expert for "{data["aspect"]}"'
    return "because the declaration names you as its manager"


def _level_label(severity: int, level: dict) -> str:
    return f"level {severity}, {level['name']}" if level.get("name") else f"level {severity}"


def _spoken(iso: str) -> str:
    """'PT1H30M' → '1 hour 30 minutes', for people rather than parsers."""
    seconds = int(durations.parse(iso).total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts)
