"""The acknowledge link's page: where the page a link answers stands, and what the person reads (R11).

A signed acknowledge link (shared/links.py) names the incident, the person paged and the page it
answers: the sequence of the event that paged them (the declaration, or an escalation). A person is
paged at most once per incident (an escalation never returns to someone already paged), so the page
is current exactly while that person is still the one paged. Opening the link shows this page and
changes nothing — link previews and mail scanners fetch links — and only its form's POST
acknowledges.

Pure: the API module reads the incident, the event and the names, and hands them over.
"""

from dataclasses import dataclass
from typing import Any

from services.incident.domain import Incident
from shared import link_pages
from shared.contract import Envelope

AWAITING, ACKNOWLEDGED, SUPERSEDED = "awaiting", "acknowledged", "superseded"
DECLARED = "warroom.incident.declared.v1"
MANAGER_CHANGED = "warroom.incident.manager_changed.v1"


def paged_by(event: Envelope | None, person: str) -> bool:
    """Whether ``event`` is the one that paged ``person``: their declaration or an escalation to them."""
    if event is None:
        return False
    if event.type == DECLARED:
        return bool(event.data.get("paged") == person)
    return event.type == MANAGER_CHANGED and event.data.get("how") == "escalated" and event.data["manager"] == person


@dataclass(frozen=True)
class Standing:
    """Where the page stands: awaiting its answer, acknowledged, or superseded (and why, in words)."""

    state: str
    why: str = ""


def standing(incident: Incident, person: str, paging_event: Envelope | None, name: dict[str, str]) -> Standing:
    """The page ``person`` got through ``paging_event``, judged on the incident as it is now."""
    if incident.status != "open":
        return Standing(SUPERSEDED, f"The incident is {incident.status}: no page on it waits for an answer.")
    if not paged_by(paging_event, person) or incident.paged != person:
        paged = name.get(incident.paged, incident.paged)
        return Standing(SUPERSEDED, f"The page went on to {paged}, who is the one paged now.")
    if incident.acknowledged:
        return Standing(ACKNOWLEDGED)
    if incident.manager != person:
        manager = name.get(incident.manager, incident.manager)
        return Standing(SUPERSEDED, f"{manager} manages the incident now, so nobody waits for this acknowledgement.")
    return Standing(AWAITING)


def level_of(process: dict[str, Any], severity: int) -> tuple[str, str]:
    """The level's name and what it means, as the process document says them."""
    found: dict[str, Any] = next((level for level in process.get("levels", []) if level.get("level") == severity), {})
    return found.get("name") or "", found.get("description") or ""


@dataclass(frozen=True)
class PageFacts:
    """What the page says about the incident: everything a person needs to decide at 04:00."""

    incident: Incident
    names: dict[str, str]
    process: dict[str, Any]
    person: str
    console_url: str

    def named(self, person: str | None) -> str:
        return self.names.get(person, person) if person else "nobody"


# The page's heading for each outcome the person can meet.
HEADINGS = {
    "confirm": "Acknowledge the page?",
    "acknowledged": "Page acknowledged",
    "already": "Already acknowledged",
}


def render(facts: PageFacts, outcome: str, value: str = "") -> str:
    """The confirmation page (``confirm``, with its form carrying ``value``), or what the POST did."""
    incident = facts.incident
    level_name, meaning = level_of(facts.process, incident.severity)
    return (
        link_pages.environment("services.incident")
        .get_template("acknowledge_link.html.j2")
        .render(
            heading=HEADINGS[outcome],
            outcome=outcome,
            value=value,
            incident=incident,
            level_name=level_name,
            meaning=meaning,
            paged=facts.named(facts.person),
            manager=facts.named(incident.manager),
            declared_by=facts.named(incident.declared_by),
            console_url=facts.console_url,
        )
    )
