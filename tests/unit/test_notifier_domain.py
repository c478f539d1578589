"""The notifier's decisions: who is told, in which words, and the retry schedule."""
from datetime import timedelta

from services.notifier import domain
from services.notifier.domain import Incident, Notice

INCIDENT = Incident("inc-1", "Checkout down", 1, 1, "alice", "open")
LEVEL = {"level": 1, "name": "Critical", "communications": "incident chat room + conference call",
         "acknowledge_within": "PT5M"}
PROCESS = {"levels": [LEVEL], "manager_shift_limit": "PT8H", "handover_warning_after": "PT7H"}


def test_r02_declaration_pages_the_paged_person():
    data = {"paged": "alice", "manager": "alice", "smes": ["alice", "bob"], "aspect": "payments"}
    assert domain.notices(domain.DECLARED, data, INCIDENT) == [Notice("alice", "paged")]


def test_r04_handover_offer_tells_the_offeree():
    data = {"to": "carol", "by": "alice", "briefing": "failover running"}
    assert domain.notices(domain.HANDOVER_OFFERED, data, INCIDENT) == [Notice("carol", "handover_offered")]


def test_r05_shift_timers_tell_the_incidents_current_manager_not_the_timers_person():
    data = {"incident_id": "inc-1", "person": "someone-else"}
    assert domain.notices(domain.HANDOVER_WARNING, data, INCIDENT) == [Notice("alice", "handover_due")]
    assert domain.notices(domain.SHIFT_LIMIT, data, INCIDENT) == [Notice("alice", "shift_limit")]


def test_other_events_tell_nobody_yet():
    assert domain.notices("warroom.incident.worker_added.v1", {"person": "x", "by": "y"}, INCIDENT) == []
    assert domain.notices("warroom.timer.ack_due.v1", {}, INCIDENT) == []


def test_r11_page_names_title_level_why_and_the_levels_communications():
    data = {"paged": "alice", "smes": ["alice"], "aspect": "payments"}
    text = domain.message("paged", INCIDENT, LEVEL, PROCESS, data, {})
    assert text.startswith('Incident "Checkout down" (level 1, Critical) was declared')
    assert 'first subject-matter expert for "payments"' in text
    assert "Acknowledge within 5 minutes." in text
    assert text.endswith("Communications: incident chat room + conference call.")


def test_r10_page_of_the_catch_all_says_the_aspect_has_no_sme():
    data = {"paged": "cat", "smes": [], "aspect": "office", "coverage_gap": True}
    assert 'catch-all subject-matter expert, because aspect "office" has no SME' in domain.message(
        "paged", INCIDENT, LEVEL, PROCESS, data, {})


def test_r02_named_manager_is_told_the_declaration_named_them():
    data = {"paged": "dave", "smes": ["alice"], "aspect": "payments"}
    assert "the declaration names you as its manager" in domain.message(
        "paged", INCIDENT, LEVEL, PROCESS, data, {})


def test_r04_handover_offer_quotes_the_offerer_and_the_briefing():
    data = {"to": "carol", "by": "alice", "briefing": "failover running"}
    text = domain.message("handover_offered", INCIDENT, LEVEL, PROCESS, data, {"alice": "Alice"})
    assert text.startswith('Alice offers you the manager role of incident "Checkout down"')
    assert 'Briefing: "failover running".' in text


def test_r05_shift_messages_spell_out_the_process_limits():
    due = domain.message("handover_due", INCIDENT, LEVEL, PROCESS, {}, {})
    assert "for 7 hours" in due and "shift limit of 8 hours" in due
    assert "manager shift limit of 8 hours" in domain.message("shift_limit", INCIDENT, LEVEL, PROCESS, {}, {})


def test_unknown_level_still_reads_as_a_sentence():
    text = domain.message("paged", INCIDENT, {}, None, {"paged": "alice", "smes": ["alice"], "aspect": "a"}, {})
    assert "(level 1)" in text and "Communications" not in text


def test_f8_retries_back_off_exponentially_up_to_an_hour_then_give_up():
    delays = [domain.retry_delay(n) for n in range(1, domain.MAX_ATTEMPTS + 1)]
    assert delays[:3] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert max(d for d in delays if d) == timedelta(hours=1)
    assert delays[-1] is None


def test_f4_a_delivery_id_is_stable_per_event_recipient_and_channel():
    assert domain.delivery_id("e1", "alice", "webhook") == domain.delivery_id("e1", "alice", "webhook")
    assert domain.delivery_id("e1", "alice", "webhook") != domain.delivery_id("e1", "bob", "webhook")
