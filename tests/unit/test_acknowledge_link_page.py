"""R11 by link (services/incident/links_page.py): where the page an acknowledge link answers stands."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from services.incident.links_page import ACKNOWLEDGED, AWAITING, SUPERSEDED, paged_by, standing
from shared.contract import Envelope

DECLARED = "warroom.incident.declared.v1"
MANAGER_CHANGED = "warroom.incident.manager_changed.v1"


def event(event_type: str, sequence: int, **data: Any) -> Envelope:
    at = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    return Envelope(
        id=f"e{sequence}",
        source="warroom/incident",
        type=event_type,
        subject="i",
        time=at,
        data=data,
        sequence=sequence,
        position=sequence,
    )


def incident(**state: Any) -> Any:
    return SimpleNamespace(**{"status": "open", "paged": "sam", "manager": "sam", "acknowledged": False, **state})


NAMES = {"sam": "Sam", "tess": "Tess"}
DECLARATION = event(DECLARED, 1, paged="sam")
ESCALATION = event(MANAGER_CHANGED, 5, manager="tess", how="escalated")


def test_r11_the_event_that_paged_a_person_is_their_declaration_or_an_escalation_to_them():
    assert paged_by(DECLARATION, "sam") and not paged_by(DECLARATION, "tess")
    assert paged_by(ESCALATION, "tess") and not paged_by(ESCALATION, "sam")
    assert not paged_by(event(MANAGER_CHANGED, 6, manager="tess", how="accepted"), "tess")
    assert not paged_by(event("warroom.incident.worker_added.v1", 2, person="sam"), "sam")
    assert not paged_by(None, "sam")


def test_r11_an_unanswered_current_page_awaits_and_an_answered_one_says_so():
    assert standing(incident(), "sam", DECLARATION, NAMES).state == AWAITING
    assert standing(incident(acknowledged=True), "sam", DECLARATION, NAMES).state == ACKNOWLEDGED


def test_r11_a_page_is_superseded_by_an_escalation_a_handover_or_the_incident_ending():
    escalated = standing(incident(paged="tess", manager="tess"), "sam", DECLARATION, NAMES)
    assert escalated.state == SUPERSEDED and "went on to Tess" in escalated.why
    handed_over = standing(incident(manager="tess"), "sam", DECLARATION, NAMES)
    assert handed_over.state == SUPERSEDED and "Tess manages the incident now" in handed_over.why
    for status in ("resolved", "closed"):
        ended = standing(incident(status=status, acknowledged=True), "sam", DECLARATION, NAMES)
        assert ended.state == SUPERSEDED and status in ended.why


def test_r11_a_link_naming_an_event_that_did_not_page_its_person_answers_no_page():
    assert standing(incident(), "sam", ESCALATION, NAMES).state == SUPERSEDED
    assert standing(incident(), "sam", None, NAMES).state == SUPERSEDED
