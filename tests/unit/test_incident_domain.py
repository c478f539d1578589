"""The incident service's rules, in memory (no PostgreSQL, no HTTP)."""
import pytest

from services.incident.application import IncidentApplication
from services.incident.errors import Conflict, Forbidden, Invalid
from services.incident.policy import Actor
from services.incident.process import ProcessDocument
from shared.clock import FakeClock

ADMIN_TOKEN = "unit-admin-token"
HOURS = {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}


@pytest.fixture
def world():
    app = IncidentApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=FakeClock())
    app.ensure_admin(ADMIN_TOKEN)
    admin = app.authenticate(ADMIN_TOKEN)
    people = {}
    for name in ("sam", "tess", "wes", "pat"):
        person = app.register_person({"name": name, "email": f"{name}@example.com", "timezone": "UTC",
                                      "phone": None, "groups": [], "working_hours": HOURS, "waking_hours": None,
                                      "webhook_url": None, "admin": False}, admin)
        people[name] = Actor(str(person.id))
    app.set_aspect("servers", [people["sam"].person_id, people["tess"].person_id], admin)
    return app, admin, people


def _declare(app, actor, **overrides):
    fields = {"title": "Site down", "description": "", "aspect": "servers", "severity": 1, "manager": None}
    return app.declare(**{**fields, **overrides}, actor=actor)


def test_r02_anyone_may_declare_and_the_first_sme_manages(world):
    app, _, people = world
    incident = _declare(app, people["pat"])
    assert incident.manager == people["sam"].person_id
    assert incident.smes == [people["sam"].person_id, people["tess"].person_id]
    assert incident.declared_by == people["pat"].person_id and incident.process_version == 1


def test_r02_a_named_manager_is_paged_instead(world):
    app, _, people = world
    incident = _declare(app, people["pat"], manager=people["wes"].person_id)
    assert incident.manager == incident.paged == people["wes"].person_id


def test_r10_an_uncovered_aspect_pages_the_catch_all_and_flags_a_gap(world):
    app, admin, people = world
    with pytest.raises(Conflict) as refused:
        _declare(app, people["pat"], aspect="office network")
    assert refused.value.rule == "R10"
    _, document = app.process()
    app.put_process(ProcessDocument.model_validate({**document, "catch_all_sme": people["tess"].person_id}), admin)
    incident = _declare(app, people["pat"], aspect="office network")
    assert incident.coverage_gap and incident.manager == people["tess"].person_id


def test_r03_the_manager_is_never_a_worker(world):
    app, _, people = world
    incident = _declare(app, people["pat"])
    sam = people["sam"]
    with pytest.raises(Conflict) as refused:
        incident.add_worker(sam.person_id, sam)
    assert refused.value.rule == "R03"
    incident.add_worker(people["wes"].person_id, sam)
    incident.offer_handover(people["wes"].person_id, "over to you", sam)
    incident.accept_handover(people["wes"], app.clock.now())
    assert incident.manager == people["wes"].person_id and incident.workers == []


def test_r04_until_the_offer_is_accepted_the_current_manager_stays_in_charge(world):
    app, _, people = world
    incident = _declare(app, people["pat"])
    sam, wes, tess = people["sam"], people["wes"], people["tess"]
    with pytest.raises(Forbidden):
        incident.offer_handover(wes.person_id, "x", wes)
    incident.offer_handover(wes.person_id, "briefing", sam)
    assert incident.manager == sam.person_id
    incident.offer_handover(tess.person_id, "on second thoughts", sam)  # a new offer replaces the pending one
    with pytest.raises(Forbidden):
        incident.accept_handover(wes, app.clock.now())
    incident.decline_handover(tess)
    assert incident.manager == sam.person_id and incident.handover_offer is None


def test_r13_severity_changes_by_the_manager_only_with_a_reason(world):
    app, _, people = world
    incident = _declare(app, people["pat"])
    with pytest.raises(Forbidden) as refused:
        incident.change_severity(2, "better", {1, 2, 3}, people["tess"])
    assert refused.value.rule == "R13"
    with pytest.raises(Invalid):
        incident.change_severity(2, "  ", {1, 2, 3}, people["sam"])
    incident.change_severity(2, "workaround deployed", {1, 2, 3}, people["sam"])
    assert incident.severity == 2


def test_r15_resolving_needs_both_parts_and_ends_commands(world):
    app, _, people = world
    incident = _declare(app, people["pat"])
    sam = people["sam"]
    with pytest.raises(Invalid) as refused:
        incident.resolve("", "", sam, app.clock.now())
    assert [e["field"] for e in refused.value.errors] == ["resolution", "test_plan"]
    incident.resolve("rolled back", "smoke tests", sam, app.clock.now())
    assert incident.status == "resolved" and incident.resolved_at == app.clock.now()
    with pytest.raises(Conflict):
        incident.add_worker(people["wes"].person_id, sam)


def test_r18_any_past_state_is_reconstructed_from_the_history(world):
    app, _, people = world
    incident = _declare(app, people["pat"])
    incident.change_severity(3, "partial fix", {1, 2, 3}, people["sam"])
    app.save(incident)
    first = app.repository.get(incident.id, version=1)
    assert first.severity == 1 and app.incident(str(incident.id)).severity == 3


def test_s1_a_revoked_token_no_longer_authenticates(world):
    app, admin, people = world
    token_id, secret = app.issue_token(people["wes"].person_id, admin)
    assert app.authenticate(secret) == people["wes"]
    app.revoke_token(token_id, admin)
    assert app.authenticate(secret) is None


def test_the_admin_token_rotates_when_the_setting_changes(world):
    app, _, _ = world
    app.ensure_admin("a-new-admin-token")
    assert app.authenticate("a-new-admin-token").admin
    assert app.authenticate(ADMIN_TOKEN) is None
