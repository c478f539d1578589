"""People and tokens on the incident service's event store (in memory): sessions, expiry, the keyrings,
edits and deactivation as use cases."""

from datetime import timedelta

import pytest

from services.incident import organisation as org
from services.incident.errors import Conflict, Forbidden, Invalid
from tests.unit.test_incident_domain import ADMIN_TOKEN, World


@pytest.fixture
def world():
    return World()


def _token(world: World, name: str, **fields) -> tuple[str, str]:
    return world.app.people.issue_token(world.id(name), world.admin, **fields)


def test_people_a_session_expires_no_later_than_the_token_it_was_opened_with(world):
    people, now = world.app.people, world.clock.now()
    _, token = _token(world, "wes", expires_at=now + timedelta(minutes=30))
    session_id, session = people.open_session(token, world.id("wes"), 12 * 3600, "console")
    assert people.session_actor(session).person_id == world.id("wes")
    assert world.app.load(org.Token, session_id, "token").expires_at == now + timedelta(minutes=30)
    world.clock.advance(timedelta(minutes=31))
    assert people.session_actor(session) is None and people.session_actor(token) is None


def test_people_a_session_is_opened_only_with_a_valid_token_of_the_person_signing_in(world):
    people = world.app.people
    _, wes = _token(world, "wes")
    with pytest.raises(Forbidden):
        people.open_session(wes, world.id("sam"), 600, "console")
    with pytest.raises(Forbidden):
        people.open_session("made-up", world.id("wes"), 600, "console")
    _, by_link = people.open_session(None, world.id("sam"), 600, "e-mail link")  # the link proved who they are
    assert people.session_actor(by_link).person_id == world.id("sam")


def test_people_closing_a_session_ends_it_and_the_sessions_opened_with_it(world):
    people = world.app.people
    _, wes = _token(world, "wes")
    _, first = people.open_session(wes, world.id("wes"), 600, "console")
    _, second = people.open_session(first, world.id("wes"), 600, "console, again")
    people.close_session(first)
    assert people.session_actor(first) is None and people.session_actor(second) is None
    assert people.session_actor(wes) is not None
    people.close_session("never-issued")  # nothing to do


def test_people_the_admin_credential_is_never_revoked_but_other_admin_sessions_are(world):
    people = world.app.people
    credential = people.actor_for(ADMIN_TOKEN)[1]
    with pytest.raises(Conflict):
        people.revoke_token(str(credential.id), world.admin)
    _, session = people.open_session(ADMIN_TOKEN, world.admin.person_id, 600, "console")
    people.close_session(session)
    people.close_session(ADMIN_TOKEN)  # signing out of a session opened otherwise never ends the credential
    assert people.session_actor(session) is None and people.session_actor(ADMIN_TOKEN) is not None


def test_people_tokens_issued_before_keyrings_existed_are_indexed_once(world):
    people, wes = world.app.people, world.id("wes")
    legacy = org.Token(id=org.token_id_for("legacy-hash"), person_id=wes, token_hash="legacy-hash")
    world.app.save(legacy)
    assert str(legacy.id) not in people.keyring(wes).tokens
    assert people.index_tokens() >= 1
    assert people.index_tokens() == 0  # once
    listed, _ = people.tokens_of(wes, world.admin, None, 50)
    assert str(legacy.id) in [str(token.id) for token in listed]
    done = world.app.people_admin.deactivate(wes, world.admin)
    assert str(legacy.id) in done.revoked_tokens


def test_people_a_token_expiring_in_the_past_is_refused(world):
    with pytest.raises(Invalid):
        _token(world, "wes", expires_at=world.clock.now() - timedelta(seconds=1))


def test_people_an_hours_edit_reaches_the_time_rules_at_once(world):
    sam = world.id("sam")
    assert world.app.people.hours_of(sam)["timezone"] == "UTC"
    world.app.people_admin.update(sam, {"timezone": "Asia/Tokyo"}, world.people["sam"], validate=lambda p: p)
    assert world.app.people.hours_of(sam)["timezone"] == "Asia/Tokyo"


def test_people_the_built_in_admin_is_neither_deactivated_nor_made_an_ordinary_person(world):
    admin = world.admin
    with pytest.raises(Conflict):
        world.app.people_admin.deactivate(admin.person_id, admin)
    with pytest.raises(Conflict):
        world.app.people_admin.update(admin.person_id, {"admin": False}, admin, validate=lambda p: p)


def test_people_deactivating_twice_changes_nothing_and_a_deactivated_person_is_named_in_no_command(world):
    wes, admin = world.id("wes"), world.admin
    first = world.app.people_admin.deactivate(wes, admin)
    version = first.person.version
    again = world.app.people_admin.deactivate(wes, admin)
    assert again.person.version == version and again.revoked_tokens == []
    incident = world.declare()
    with pytest.raises(Conflict, match="deactivated"):
        world.app.people.require_people("person", wes)
    with pytest.raises(Conflict):
        world.app.incidents.declare("Disk full", "", "servers", 1, wes, world.people["pat"])
    assert world.app.incidents.incident(str(incident.id)).status == "open"
