"""What the incident page shows, gathered from the application in one go (run in a worker thread): the
incident, its level in words, who holds each role by name, what is due and what is overdue, the last
events as sentences, and which actions the signed-in person may take — the permission table
(policy.py) and the incident's state decide, so a form is offered only where the command would be
accepted by role."""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.incident import policy
from services.incident.application import IncidentApplication
from services.incident.console import timeline
from services.incident.console.recent_events import RecentEvents
from services.incident.domain import Incident
from services.incident.domain.base import HandoverOffer
from services.incident.errors import NotFound
from services.incident.policy import Actor

# The page shows this many of the latest events (the post-mortem has the whole story).
TIMELINE_LENGTH = 200
NAME_SECONDS = 10.0

ROLE_NAMES = {
    "manager": "the manager",
    "worker": "a worker",
    "sme": "an SME",
    "observer": "an observer",
    "pr_manager": "the PR manager",
    "admin": "an admin",
}


@dataclass(frozen=True)
class Due:
    what: str
    at: datetime | None
    overdue: bool


@dataclass
class IncidentPage:
    incident: Incident
    level: str
    meaning: str
    levels: list[tuple[int, str]]
    roles: list[tuple[str, str, list[tuple[str, str]]]]  # (label, role key, [(person id, name)])
    due: list[Due]
    entries: list[timeline.Entry]
    actions: set[str]
    pending_steps: list[tuple[str, str]]  # (step id, title)
    my_roles: list[str]
    severity_inputs: list[dict[str, Any]] = field(default_factory=list)
    # The handover on offer, with names: {"to", "by", "briefing"}.
    offer: dict[str, str] | None = None


class Names:
    """A person's name by id (their id when nobody has it), read from the store at most every NAME_SECONDS:
    a page names the same few people many times, and a renamed person shows within seconds."""

    _known: dict[str, tuple[str, float]] = {}  # person id -> (name, read at): shared by every page

    def __init__(self, application: IncidentApplication):
        self.people = application.people

    def __call__(self, person_id: str) -> str:
        known = self._known.get(person_id)
        if known is None or known[1] < time.monotonic() - NAME_SECONDS:
            try:
                name = self.people.person(person_id).name
            except NotFound:
                name = person_id
            known = self._known[person_id] = (name, time.monotonic())
        return known[0]


@functools.cache
def recent() -> RecentEvents:
    """The events pages show, kept between pages (built on first use)."""
    return RecentEvents(TIMELINE_LENGTH)


def level_words(document: dict[str, Any]) -> Callable[[int], str]:
    names = {level["level"]: level.get("name", "") for level in document.get("levels", [])}

    def words(number: int) -> str:
        name = names.get(number)
        return f"level {number} · {name}" if name else f"level {number}"

    return words


def incident_page(application: IncidentApplication, incident_id: str, actor: Actor, now: datetime) -> IncidentPage:
    incident = application.incidents.incident(incident_id)
    document = application.incidents.process_of(incident)
    name, level = Names(application), level_words(document)
    this_level: dict[str, Any] = next((lv for lv in document.get("levels", []) if lv["level"] == incident.severity), {})
    events = recent().latest(application, incident_id, incident.version)
    due_next = application.incidents.representation(incident)["due"]
    return IncidentPage(
        incident=incident,
        level=level(incident.severity),
        meaning=this_level.get("description", ""),
        levels=[(lv["level"], level(lv["level"])) for lv in document.get("levels", [])],
        roles=roles(incident, name),
        due=deadlines(due_next, incident, name, now),
        entries=[timeline.entry(event, name, level) for event in reversed(events)],
        actions=available_actions(incident, actor),
        pending_steps=[(step["step"], step["title"] or step["step"]) for step in due_next["checklist"]],
        my_roles=[ROLE_NAMES[role] for role in ROLE_NAMES if role in policy.actor_roles(actor, incident)],
        severity_inputs=[{**given, "by_name": name(given["by"])} for given in incident.severity_inputs],
        offer=None if (o := incident.handover_offer) is None else offered(o, name),
    )


def offered(offer: HandoverOffer, name: Callable[[str], str]) -> dict[str, str]:
    return {"to": name(offer["to"]), "by": name(offer["by"]), "briefing": offer["briefing"]}


def roles(incident: Incident, name: Callable[[str], str]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    def named(people: list[str]) -> list[tuple[str, str]]:
        return [(person, name(person)) for person in people]

    return [
        ("Manager", "manager", named([incident.manager])),
        ("Workers", "worker", named(incident.workers)),
        ("SMEs", "sme", named(incident.smes)),
        ("Observers", "observer", named(incident.observers)),
        ("PR manager", "pr_manager", named([incident.pr_manager] if incident.pr_manager else [])),
    ]


def deadlines(due: dict[str, Any], incident: Incident, name: Callable[[str], str], now: datetime) -> list[Due]:
    """What is due next (R20), soonest first; a deadline passed is overdue."""
    timed: list[tuple[str, datetime | None]] = []
    if due["acknowledgement_due_at"]:
        timed.append((f"{name(incident.paged)} acknowledges the page (R11)", due["acknowledgement_due_at"]))
    timed += [(f"Checklist: {step['title'] or step['step']} (R14)", step["due_at"]) for step in due["checklist"]]
    if due["next_status_update_at"]:
        timed.append(("Next status update from the workers (R06)", due["next_status_update_at"]))
    if due["next_public_update_at"]:
        timed.append(("Next public update (R08)", due["next_public_update_at"]))
    if due["handover_warning_at"]:
        timed.append((f"{name(incident.manager)} should prepare a handover (R05)", due["handover_warning_at"]))
    if due["shift_limit_at"]:
        timed.append((f"{name(incident.manager)} must have handed over (R05)", due["shift_limit_at"]))
    items = sorted(
        (Due(what, at, at is not None and at <= now) for what, at in timed),
        key=lambda d: (d.at is None, d.at or now),
    )
    if due["pr_manager_needed"]:
        items.insert(0, Due("A PR manager is needed at this level (R08)", None, True))
    if due["tired_workers"]:
        tired = ", ".join(name(person) for person in due["tired_workers"])
        items.append(Due(f"Already long on incidents today: {tired} (R19)", None, False))
    return items


def available_actions(incident: Incident, actor: Actor) -> set[str]:
    """The forms to show: what the permission table lets this person do in the incident's state."""
    if incident.status == "closed":
        return set()
    if incident.status == "resolved":
        return {"reopen"} if policy.allowed("reopen", actor, incident) else set()
    me, actions = actor.person_id, set()
    if me == incident.paged and incident.awaiting_acknowledgement():
        actions.add("acknowledge")
    offer = incident.handover_offer
    if offer is not None and offer["to"] == me:
        actions |= {"accept_handover", "decline_handover"}
    by_table = {
        "offer_handover": offer is None,
        "force_handover": True,
        "manage_roles": True,
        "give_severity_input": True,
        "change_severity": True,
        "request_status": bool(incident.workers),
        "brief_observers": True,
        "post_status_update": True,
        "post_public_update": True,
        "request_affected_info": True,
        "report_affected_info": True,
        "complete_checklist_step": True,
        "resolve": True,
    }
    actions |= {action for action, fits in by_table.items() if fits and policy.allowed(action, actor, incident)}
    return actions
