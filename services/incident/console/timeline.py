"""An incident's published events as a person reads them on its page: who did what, in a sentence, and
what they wrote, quoted (a status update with its five parts). Pure: names and level names are asked of
the caller."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contract import Envelope

Name = Callable[[str], str]
Level = Callable[[int], str]
Data = dict[str, Any]
# A sentence, what was written (label, text), and the kind of entry (the page marks kinds apart).
Said = tuple[str, list[tuple[str, str]], str]

STATUS_PARTS = (
    ("learned", "What we learned"),
    ("tried", "What we tried"),
    ("outcome", "Outcome"),
    ("working_on", "Working on"),
    ("remaining", "Remaining"),
)


@dataclass(frozen=True)
class Entry:
    sequence: int
    at: datetime
    kind: str
    text: str
    quotes: tuple[tuple[str, str], ...]


def entry(event: Envelope, name: Name, level: Level) -> Entry:
    said = _WORDS.get(event.type.removeprefix("warroom.incident.").removesuffix(".v1"))
    text, quotes, kind = said(event.data, name, level) if said else (event.type, [], "other")
    return Entry(event.sequence or 0, event.time, kind, text, tuple((label, q) for label, q in quotes if q))


def _declared(d: Data, name: Name, level: Level) -> Said:
    text = f"{name(d['declared_by'])} declared it at {level(d['severity'])}, aspect “{d['aspect']}”"
    text += f"; {name(d['paged'])} was paged to manage it"
    if d.get("coverage_gap"):
        text += " (the aspect has no SME: the catch-all was paged, R10)"
    return text, [("Description", d.get("description", ""))], "page"


def _acknowledged(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['person'])} acknowledged the page", [], "page"


def _unanswered(d: Data, name: Name, level: Level) -> Said:
    text = f"Nobody answered the page: every SME and the catch-all were paged; {name(d['paged'])} stays in charge"
    return text, [], "alert"


_ARTICLE = {"worker": "a", "SME": "an", "observer": "an"}


def _role(role: str, added: bool) -> Callable[[Data, Name, Level], Said]:
    def said(d: Data, name: Name, level: Level) -> Said:
        text = f"{name(d['by'])} {'added' if added else 'removed'} {name(d['person'])} "
        text += f"as {_ARTICLE[role]} {role}" if added else f"from the {role}s"
        if added and d.get("fresh") is False:
            text += " — already long on incidents today (R19)"
        return text, [], "roles"

    return said


def _pr_manager(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['by'])} made {name(d['person'])} the PR manager", [], "roles"


def _offered(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['by'])} offered the handover to {name(d['to'])}", [("Briefing", d["briefing"])], "handover"


def _declined(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['to'])} declined the handover", [], "handover"


def _manager_changed(d: Data, name: Name, level: Level) -> Said:
    new, old = name(d["manager"]), name(d["previous"])
    if d["how"] == "accepted":
        return f"{new} accepted the handover from {old} and now manages the incident", [], "handover"
    if d["how"] == "forced":
        forced = f"{name(d['by'])} handed the incident from {old} to {new} (forced)"
        return forced, [("Reason", d["reason"])], "handover"
    catch_all = " (the catch-all SME)" if d.get("to_catch_all") else ""
    return f"{old} did not answer the page in time: {new}{catch_all} now manages it and is paged", [], "alert"


def _shift_limit(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['manager'])} reached the shift limit: only handing over remains (R05)", [], "alert"


def _severity_input(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['by'])} suggests {level(d['level'])}", [("Comment", d.get("comment", ""))], "severity"


def _severity_changed(d: Data, name: Name, level: Level) -> Said:
    text = f"{name(d['by'])} changed the level from {level(d['previous'])} to {level(d['severity'])}"
    return text, [("Reason", d["reason"])], "severity"


def _status_requested(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['by'])} asked the workers for a status update", [], "comms"


def _status_updated(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['worker'])} posted a status update", [(label, d[key]) for key, label in STATUS_PARTS], "status"


def _written(verb: str, field: str, label: str) -> Callable[[Data, Name, Level], Said]:
    def said(d: Data, name: Name, level: Level) -> Said:
        return f"{name(d['by'])} {verb}", [(label, d[field])], "comms"

    return said


def _step_done(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['by'])} completed the checklist step “{d['step']}” ({level(d['level'])})", [], "checklist"


def _resolved(d: Data, name: Name, level: Level) -> Said:
    quotes = [("Resolution", d["resolution"]), ("Test plan", d["test_plan"])]
    return f"{name(d['by'])} resolved the incident", quotes, "lifecycle"


def _reopened(d: Data, name: Name, level: Level) -> Said:
    return f"{name(d['by'])} reopened the incident", [("Reason", d["reason"])], "lifecycle"


def _closed(d: Data, name: Name, level: Level) -> Said:
    return "The post-mortem was published: the incident is closed", [], "lifecycle"


def _alerts(d: Data) -> list[tuple[str, str]]:
    """Each Alertmanager alert quoted by its name, with its summary."""
    return [(a["labels"].get("alertname", "Alert"), a.get("annotations", {}).get("summary", "")) for a in d["alerts"]]


def _alerts_attached(d: Data, name: Name, level: Level) -> Said:
    joined = "declared it" if d.get("declaring") else "joined it"
    return f"{len(d['alerts'])} Alertmanager alert(s) {joined}", _alerts(d), "alert"


def _alerts_resolved(d: Data, name: Name, level: Level) -> Said:
    return f"Alertmanager reports {len(d['alerts'])} alert(s) resolved; the incident stays open", _alerts(d), "alert"


_WORDS: dict[str, Callable[[Data, Name, Level], Said]] = {
    "declared": _declared,
    "acknowledged": _acknowledged,
    "page_unanswered": _unanswered,
    "worker_added": _role("worker", True),
    "worker_removed": _role("worker", False),
    "sme_added": _role("SME", True),
    "sme_removed": _role("SME", False),
    "observer_added": _role("observer", True),
    "observer_removed": _role("observer", False),
    "pr_manager_assigned": _pr_manager,
    "handover_offered": _offered,
    "handover_declined": _declined,
    "manager_changed": _manager_changed,
    "shift_limit_breached": _shift_limit,
    "severity_input_given": _severity_input,
    "severity_changed": _severity_changed,
    "status_requested": _status_requested,
    "status_updated": _status_updated,
    "observers_briefed": _written("briefed the observers", "summary", "Summary"),
    "public_update_posted": _written("posted a public update", "message", "Public update"),
    "affected_info_requested": _written("asked for affected-user information", "question", "Question"),
    "affected_info_reported": _written("reported affected-user information", "findings", "Findings"),
    "checklist_step_completed": _step_done,
    "resolved": _resolved,
    "reopened": _reopened,
    "closed": _closed,
    "alerts_attached": _alerts_attached,
    "alerts_resolved": _alerts_resolved,
}
