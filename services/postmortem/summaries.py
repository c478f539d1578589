"""One readable sentence per timeline entry, and the words people wrote, quoted as they wrote them.

Rendering at read time (rather than storing the text) keeps names current and makes a rebuilt
read model identical to the live one whatever order the consumers ran in.
"""

from collections.abc import Callable, Iterable
from typing import Any

from services.postmortem import alerts
from services.postmortem.wording import human

Name = Callable[[str | None], str]

# Data fields that hold a person id, in any event type that mentions people.
PERSON_FIELDS = ("by", "declared_by", "manager", "previous", "person", "to", "recipient", "paged", "worker")

TIMERS = {
    "ack_due": "The page to {person} was not acknowledged in time (R11)",
    "handover_warning": "Handover due: {person} is nearing the manager shift limit (R05)",
    "shift_limit": "{person} reached the manager shift limit (R05)",
    "status_update_due": "A status update from {person} was due (R06)",
    "public_update_due": "A public update was due (R08)",
    "checklist_step_due": "Checklist step {step} was due (R14)",
    "worker_fresh": "{person} has worked on incidents longer than is fresh (R19)",
}

STATUS_PARTS = (
    ("learned", "Learned"),
    ("tried", "Tried"),
    ("outcome", "Outcome"),
    ("working_on", "Working on"),
    ("remaining", "Remaining"),
)

# What people wrote in an event, quoted in the timeline: (field, label) pairs per event type.
QUOTED = {
    "warroom.incident.status_updated.v1": STATUS_PARTS,
    "warroom.incident.public_update_posted.v1": (("message", None),),
    "warroom.incident.observers_briefed.v1": (("summary", None),),
    "warroom.incident.handover_offered.v1": (("briefing", None),),
    "warroom.incident.affected_info_requested.v1": (("question", None),),
    "warroom.incident.affected_info_reported.v1": (("findings", None),),
    "warroom.incident.severity_input_given.v1": (("comment", None),),
    "warroom.incident.resolved.v1": (("resolution", "Resolution"), ("test_plan", "Test plan")),
}


def people_mentioned(data: dict[str, Any]) -> set[str]:
    found = {data[key] for key in PERSON_FIELDS if isinstance(data.get(key), str)}
    return found | {p for p in data.get("workers", []) if isinstance(p, str)}


def names_needed(entries: Iterable[tuple[str | None, dict[str, Any]]]) -> set[str]:
    """Every person id a set of (actor, data) entries will need a name for."""
    ids: set[str] = set()
    for actor, data in entries:
        if actor:
            ids.add(actor)
        ids |= people_mentioned(data)
    return ids


def quote(event_type: str, data: dict[str, Any]) -> str | None:
    """The words of a status update, public update, briefing, … exactly as written; None for other events."""
    if event_type in alerts.TYPES:  # Alertmanager's alerts: their summaries, descriptions and labels
        return alerts.quoted(data.get("alerts") or []) or None
    fields = QUOTED.get(event_type)
    if not fields:
        return None
    lines = [f"{label}: {data[key]}" if label else str(data[key]) for key, label in fields if data.get(key)]
    return "\n".join(lines) or None


def summarise(event_type: str, data: dict[str, Any], name: Name, steps: dict[str, str] | None = None) -> str:
    """What happened, in a sentence, with people by name (``steps``: checklist step titles by id)."""
    if event_type.startswith("warroom.incident."):
        return _incident(event_type.removeprefix("warroom.incident.").removesuffix(".v1"), data, name, steps or {})
    if event_type.startswith("warroom.timer."):
        template = TIMERS.get(data.get("kind", ""), "Timer {kind} fired")
        step = (data.get("detail") or {}).get("step", "?")
        return template.format(
            person=name(data.get("person")), kind=data.get("kind", "?"), step=f"“{(steps or {}).get(step, step)}”"
        )
    if event_type == "warroom.notification.delivered.v1":
        if data["channel"] == "chat":
            return f"The level's chat room was told ({data['reason']})"
        return f"{name(data.get('recipient'))} was notified by {data['channel']} ({data['reason']})"
    return _generic(event_type, data, name)


def _incident(kind: str, d: dict[str, Any], name: Name, steps: dict[str, str]) -> str:
    by = name(d.get("by"))
    match kind:
        case "declared":
            return _declared(d, name)
        case "acknowledged":
            return f"{name(d['person'])} acknowledged the page"
        case "page_unanswered":
            return (
                f"Nobody acknowledged the page to {name(d['paged'])} and nobody is left to page: observers told (R11)"
            )
        case "worker_added":
            return _worker_added(d, name)
        case "worker_removed":
            return f"{by} released {name(d['person'])} from the workers"
        case "sme_added" | "observer_added":
            return f"{by} added {name(d['person'])} as {'an SME' if kind == 'sme_added' else 'an observer'}"
        case "sme_removed" | "observer_removed":
            return f"{by} removed {name(d['person'])} from the {'SMEs' if kind == 'sme_removed' else 'observers'}"
        case "pr_manager_assigned":
            instead = f" instead of {name(d['previous'])}" if d.get("previous") else ""
            return f"{by} made {name(d['person'])} PR manager{instead}"
        case "handover_offered":
            return f"{by} offered the manager role to {name(d['to'])}"
        case "handover_declined":
            return f"{name(d['to'])} declined the manager role"
        case "manager_changed":
            return _manager_changed(d, name)
        case "shift_limit_breached":
            return f"{name(d['manager'])} reached the manager shift limit of {d['limit']} (R05)"
        case "severity_input_given":
            return f"{by} suggested level {d['level']}"
        case "severity_changed":
            direction = "raised" if d["severity"] < d["previous"] else "lowered"
            return f"{by} {direction} the severity from level {d['previous']} to level {d['severity']}: {d['reason']}"
        case "status_requested":
            return f"{by} asked {_listing([name(w) for w in d['workers']])} for a status update"
        case "status_updated":
            return f"{name(d['worker'])} reported status"
        case "observers_briefed":
            return f"{by} briefed the observers"
        case "public_update_posted":
            return f"{by} posted a public update"
        case "affected_info_requested":
            return f"{by} asked the PR manager to find out from affected users"
        case "affected_info_reported":
            return f"{by} reported what affected users said"
        case "checklist_step_completed":
            return f"{by} did checklist step “{steps.get(d['step'], d['step'])}” (level {d['level']})"
        case "resolved":
            return f"{by} resolved the incident"
        case "reopened":
            return f"{by} reopened the incident: {d['reason']}"
        case "closed":
            return "The post-mortem was published; the incident is closed (R16)"
        case "alerts_attached" | "alerts_resolved":
            return alerts.sentence(f"warroom.incident.{kind}.v1", d)
    return _generic(f"warroom.incident.{kind}.v1", d, name)


def _declared(d: dict[str, Any], name: Name) -> str:
    gap = "; no SME covers this aspect, the catch-all was paged (R10)" if d.get("coverage_gap") else ""
    return (
        f"{name(d['declared_by'])} declared “{d['title']}” for {d['aspect']} at level "
        f"{d['severity']}; {name(d['manager'])} manages{gap}"
    )


def _worker_added(d: dict[str, Any], name: Name) -> str:
    tired = (
        ""
        if d.get("fresh", True)
        else f", already {human(d.get('worked_seconds_last_24h', 0))} on incidents in the last 24 hours (R19)"
    )
    return f"{name(d.get('by'))} added {name(d['person'])} as a worker{tired}"


def _manager_changed(d: dict[str, Any], name: Name) -> str:
    previous, manager = name(d["previous"]), name(d["manager"])
    reason = f": {d['reason']}" if d.get("reason") else ""
    match d["how"]:
        case "accepted":
            return f"{manager} took over as manager from {previous}"
        case "forced":
            return f"{name(d['by'])} forced the manager role from {previous} to {manager}{reason}"
        case _:
            catch_all = " (the catch-all SME)" if d.get("to_catch_all") else ""
            return f"The page to {previous} went unanswered; {manager}{catch_all} was paged and became manager"


def _listing(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names) or "nobody"
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _generic(event_type: str, data: dict[str, Any], name: Name) -> str:
    """A type this service does not know yet: its name in words, and who did it if that is said."""
    parts = event_type.split(".")
    what = parts[-2].replace("_", " ") if len(parts) >= 3 else event_type
    by = data.get("by")
    return f"{what.capitalize()} (by {name(by)})" if isinstance(by, str) else what.capitalize()
