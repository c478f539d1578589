"""What an incident event means, in a sentence with people's names (pure: names come from ``name``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Name = Callable[[str | None], str]
PREFIX, SUFFIX = "warroom.incident.", ".v1"
STATUS_PARTS = (
    ("learned", "Learned"),
    ("tried", "Tried"),
    ("outcome", "Outcome"),
    ("working_on", "Working on"),
    ("remaining", "Remaining"),
)


def _quote(text: Any) -> str:
    text = " ".join(str(text or "").split())
    return f"“{text}”" if text else ""


def _with(sentence: str, text: Any) -> str:
    return f"{sentence}: {_quote(text)}" if _quote(text) else sentence


def _manager_changed(d: dict[str, Any], name: Name) -> str:
    if d.get("how") == "accepted":
        return f"{name(d.get('manager'))} took over as manager from {name(d.get('previous'))}"
    if d.get("how") == "escalated":
        past = " past the directory to the catch-all" if d.get("to_catch_all") else ""
        return f"page unanswered: escalated{past} to {name(d.get('manager'))}, now manager"
    return _with(f"{name(d.get('by'))} made {name(d.get('manager'))} manager (forced)", d.get("reason"))


def _worker_added(d: dict[str, Any], name: Name) -> str:
    sentence = f"{name(d.get('by'))} added {name(d.get('person'))} as a worker"
    if d.get("fresh") is False:
        hours = int(d.get("worked_seconds_last_24h") or 0) / 3600
        sentence += f" (tired: {hours:.1f} h on incidents in the last 24 h)"
    return sentence


def _role(role: str, verb: str) -> Callable[[dict[str, Any], Name], str]:
    return lambda d, name: f"{name(d.get('by'))} {verb} {name(d.get('person'))} as {role}"


SENTENCES: dict[str, Callable[[dict[str, Any], Name], str]] = {
    "declared": lambda d, name: (
        f"{name(d.get('declared_by'))} declared it at level {d.get('severity')}: {_quote(d.get('title'))};"
        f" {name(d.get('paged'))} paged{' (no SME for the aspect: the catch-all)' if d.get('coverage_gap') else ''}"
    ),
    "acknowledged": lambda d, name: f"{name(d.get('person'))} acknowledged the page",
    "page_unanswered": lambda d, name: f"nobody answered the page; {name(d.get('paged'))} stays manager",
    "worker_added": _worker_added,
    "worker_removed": _role("a worker", "released"),
    "sme_added": _role("an SME", "added"),
    "sme_removed": _role("an SME", "released"),
    "observer_added": _role("an observer", "added"),
    "observer_removed": _role("an observer", "removed"),
    "pr_manager_assigned": lambda d, name: f"{name(d.get('by'))} made {name(d.get('person'))} PR manager",
    "handover_offered": lambda d, name: _with(
        f"{name(d.get('by'))} offered the manager role to {name(d.get('to'))}", d.get("briefing")
    ),
    "handover_declined": lambda d, name: f"{name(d.get('to'))} declined the manager role",
    "manager_changed": _manager_changed,
    "shift_limit_breached": lambda d, name: f"{name(d.get('manager'))} reached the shift limit: hand over now",
    "severity_input_given": lambda d, name: _with(
        f"{name(d.get('by'))} suggests level {d.get('level')}", d.get("comment")
    ),
    "severity_changed": lambda d, name: _with(
        f"{name(d.get('by'))} changed the level {d.get('previous')} → {d.get('severity')}", d.get("reason")
    ),
    "status_requested": lambda d, name: f"{name(d.get('by'))} asked the workers for a status update",
    "status_updated": lambda d, name: f"status update from {name(d.get('worker'))}",
    "observers_briefed": lambda d, name: _with(f"{name(d.get('by'))} briefed the observers", d.get("summary")),
    "public_update_posted": lambda d, name: _with(f"{name(d.get('by'))} posted a public update", d.get("message")),
    "affected_info_requested": lambda d, name: _with(f"{name(d.get('by'))} asked", d.get("question")),
    "affected_info_reported": lambda d, name: _with(f"{name(d.get('by'))} reported", d.get("findings")),
    "checklist_step_completed": lambda d, name: f"{name(d.get('by'))} did checklist step {d.get('step')}",
    "resolved": lambda d, name: _with(f"{name(d.get('by'))} resolved it", d.get("resolution")),
    "reopened": lambda d, name: _with(f"{name(d.get('by'))} reopened it", d.get("reason")),
    "closed": lambda d, name: "closed: the post-mortem is published",
    "alerts_attached": lambda d, name: (
        f"{len(d.get('alerts') or [])} Alertmanager alert(s) " + ("declared it" if d.get("declaring") else "joined it")
    ),
    "alerts_resolved": lambda d, name: f"Alertmanager reports {len(d.get('alerts') or [])} alert(s) resolved",
}


def short_type(event_type: str) -> str:
    return event_type.removeprefix(PREFIX).removesuffix(SUFFIX)


def sentence(event_type: str, data: dict[str, Any], name: Name) -> str:
    """One line saying what happened; an event this client does not know is named by its type."""
    kind = short_type(event_type)
    if kind in SENTENCES:
        return SENTENCES[kind](data, name)
    return kind.replace("_", " ")


def details(event_type: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """The parts worth quoting under the sentence (a status update's five parts)."""
    if short_type(event_type) != "status_updated":
        return []
    return [(label, " ".join(str(data.get(key) or "").split())) for key, label in STATUS_PARTS]
