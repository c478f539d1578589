"""One readable sentence per timeline entry, rendered when the post-mortem is read.

Rendering at read time (rather than storing the text) keeps names current and makes a
rebuilt read model identical to the live one whatever order the consumers ran in.
"""
from collections.abc import Callable, Iterable
from typing import Any

Name = Callable[[str | None], str]

# Data fields that hold a person id, in any event type that mentions people.
PERSON_FIELDS = ("by", "declared_by", "manager", "previous", "person", "to", "recipient", "paged")

TIMERS = {
    "ack_due": "The page to {person} was not acknowledged in time",
    "handover_warning": "Handover due: {person} is nearing the manager shift limit (R05)",
    "shift_limit": "{person} reached the manager shift limit (R05)",
    "status_update_due": "A status update was due",
    "public_update_due": "A public update was due",
    "checklist_step_due": "Checklist step {step} was due",
    "worker_fresh": "{person} has worked on incidents longer than is fresh (R19)",
}


def people_mentioned(data: dict[str, Any]) -> set[str]:
    return {data[key] for key in PERSON_FIELDS if isinstance(data.get(key), str)}


def summarise(event_type: str, data: dict[str, Any], name: Name) -> str:
    """What happened, in a sentence, with people by name."""
    if event_type.startswith("warroom.incident."):
        return _incident(event_type, data, name)
    if event_type.startswith("warroom.timer."):
        template = TIMERS.get(data.get("kind", ""), "Timer {kind} fired")
        return template.format(person=name(data.get("person")), kind=data.get("kind", "?"),
                               step=data.get("detail", {}).get("step", "?"))
    if event_type == "warroom.notification.delivered.v1":
        return f"{name(data.get('recipient'))} was notified by {data['channel']} ({data['reason']})"
    return _generic(event_type, data, name)


def _incident(event_type: str, d: dict[str, Any], name: Name) -> str:
    match event_type:
        case "warroom.incident.declared.v1":
            gap = "; no SME covers this aspect, the catch-all was paged (R10)" if d.get("coverage_gap") else ""
            return (f"{name(d['declared_by'])} declared “{d['title']}” for {d['aspect']} at level "
                    f"{d['severity']}; {name(d['manager'])} manages{gap}")
        case "warroom.incident.worker_added.v1":
            return f"{name(d['by'])} added {name(d['person'])} as a worker"
        case "warroom.incident.worker_removed.v1":
            return f"{name(d['by'])} released {name(d['person'])} from the workers"
        case "warroom.incident.handover_offered.v1":
            return f"{name(d['by'])} offered the manager role to {name(d['to'])}: “{d['briefing']}”"
        case "warroom.incident.handover_declined.v1":
            return f"{name(d['to'])} declined the manager role"
        case "warroom.incident.manager_changed.v1":
            return _manager_changed(d, name)
        case "warroom.incident.severity_changed.v1":
            direction = "raised" if d["severity"] < d["previous"] else "lowered"
            return (f"{name(d['by'])} {direction} the severity from level {d['previous']} to "
                    f"level {d['severity']}: {d['reason']}")
        case "warroom.incident.resolved.v1":
            return f"{name(d['by'])} resolved the incident: {d['resolution']}"
    return _generic(event_type, d, name)


def _manager_changed(d: dict[str, Any], name: Name) -> str:
    previous, manager = name(d["previous"]), name(d["manager"])
    reason = f": {d['reason']}" if d.get("reason") else ""
    match d["how"]:
        case "accepted":
            return f"{manager} took over as manager from {previous}"
        case "forced":
            return f"{name(d['by'])} forced the manager role from {previous} to {manager}{reason}"
        case _:
            return f"The page to {previous} went unanswered; {manager} became manager (escalation){reason}"


def _generic(event_type: str, data: dict[str, Any], name: Name) -> str:
    """A type this service does not know yet: its name in words, and who did it if that is said."""
    parts = event_type.split(".")
    what = parts[-2].replace("_", " ") if len(parts) >= 3 else event_type
    by = data.get("by")
    return f"{what.capitalize()} (by {name(by)})" if isinstance(by, str) else what.capitalize()


def names_needed(entries: Iterable[tuple[str | None, dict[str, Any]]]) -> set[str]:
    """Every person id a set of (actor, data) entries will need a name for."""
    ids: set[str] = set()
    for actor, data in entries:
        if actor:
            ids.add(actor)
        ids |= people_mentioned(data)
    return ids
