"""The console's pure parts: which forms a person is offered (the permission table and the incident's state),
the timeline's sentences, where a sign-in may lead, and time in words."""

from datetime import UTC, datetime, timedelta
from typing import Any

from services.incident.application import IncidentApplication
from services.incident.console import security, timeline, views
from services.incident.console.incident_view import available_actions
from services.incident.policy import Actor
from shared.contract import Envelope

ADMIN_TOKEN = "unit-console-admin-token"
HOURS = {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]}
NOW = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)


def world() -> tuple[IncidentApplication, dict[str, Actor]]:
    app = IncidentApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.people.ensure_admin(ADMIN_TOKEN)
    admin = app.people.authenticate(ADMIN_TOKEN)
    assert admin is not None
    people = {"admin": admin}
    for name in ("sam", "wes", "jan", "olga", "prue"):
        fields: dict[str, Any] = {"name": name, "email": f"{name}@example.com", "timezone": "UTC", "phone": None}
        fields["groups"] = []
        fields |= {"working_hours": HOURS, "waking_hours": None, "webhook_url": None, "admin": False}
        people[name] = Actor(str(app.people.register_person(fields, admin).id))
    app.organisation.set_aspect("servers", [people["sam"].person_id], admin)
    return app, people


def test_r03_a_worker_is_offered_the_status_update_the_manager_the_rest_a_stranger_nothing():
    app, people = world()
    incident = app.incidents.declare("Site down", "", "servers", 1, None, people["jan"])

    def change(command):
        return app.incidents.command(str(incident.id), None, people["sam"], command)

    change(lambda i, ctx: i.add_worker(people["wes"].person_id, 0, True, ctx))
    change(lambda i, ctx: i.add_member("observer", people["olga"].person_id, ctx))
    incident = change(lambda i, ctx: i.assign_pr_manager(people["prue"].person_id, ctx))

    assert available_actions(incident, people["wes"]) == {"post_status_update"}
    assert available_actions(incident, people["jan"]) == set()
    assert available_actions(incident, people["olga"]) == {"give_severity_input"}
    assert available_actions(incident, people["prue"]) == {"post_public_update", "report_affected_info"}
    manager = available_actions(incident, people["sam"])
    assert {"acknowledge", "change_severity", "manage_roles", "resolve", "request_status"} <= manager
    assert "post_status_update" not in manager and "force_handover" not in manager
    assert available_actions(incident, people["admin"]) == {"force_handover", "manage_roles"}


def test_r15_a_resolved_incident_offers_its_manager_only_reopening_and_a_closed_one_nothing():
    app, people = world()
    incident = app.incidents.declare("Site down", "", "servers", 2, None, people["sam"])
    resolved = app.incidents.command(
        str(incident.id), None, people["sam"], lambda i, ctx: i.resolve("Rebooted", "Checked the dashboards", ctx)
    )
    assert available_actions(resolved, people["sam"]) == {"reopen"}
    assert available_actions(resolved, people["wes"]) == set()


def test_r04_the_person_offered_the_handover_may_accept_or_decline_it_and_nobody_else():
    app, people = world()
    incident = app.incidents.declare("Site down", "", "servers", 2, None, people["sam"])
    offered = app.incidents.command(
        str(incident.id),
        None,
        people["sam"],
        lambda i, ctx: i.offer_handover(people["jan"].person_id, "All yours", ctx),
    )
    assert {"accept_handover", "decline_handover"} <= available_actions(offered, people["jan"])
    assert "offer_handover" not in available_actions(offered, people["sam"])
    assert not {"accept_handover", "decline_handover"} & available_actions(offered, people["wes"])


def event(kind: str, data: dict, sequence: int = 2) -> Envelope:
    return Envelope(
        id=f"e-{sequence}",
        source="warroom/incident",
        type=f"warroom.incident.{kind}.v1",
        subject="i-1",
        time=NOW,
        data=data,
        sequence=sequence,
        position=sequence,
    )


def names(person: str) -> str:
    return {"p-sam": "Sam", "p-wes": "Wes"}.get(person, person)


def level(number: int) -> str:
    return f"level {number} · Critical" if number == 1 else f"level {number}"


def test_r06_a_status_update_is_quoted_with_its_five_parts_under_the_workers_name():
    parts = {
        "learned": "Disk full",
        "tried": "Rotated logs",
        "outcome": "Freed 2 GB",
        "working_on": "",
        "remaining": "x",
    }
    entry = timeline.entry(event("status_updated", {"worker": "p-wes", **parts}), names, level)
    assert entry.text == "Wes posted a status update" and entry.kind == "status"
    assert [label for label, _ in entry.quotes] == ["What we learned", "What we tried", "Outcome", "Remaining"]
    assert ("What we tried", "Rotated logs") in entry.quotes


def test_r10_a_declaration_that_paged_the_catch_all_says_so_in_its_sentence():
    data = {"title": "t", "description": "d", "aspect": "typo", "severity": 1, "manager": "p-sam", "smes": ["p-sam"]}
    data |= {"declared_by": "p-wes", "process_version": 1, "paged": "p-sam", "coverage_gap": True}
    entry = timeline.entry(event("declared", data, 1), names, level)
    assert entry.text.startswith("Wes declared it at level 1 · Critical, aspect “typo”; Sam was paged")
    assert "catch-all" in entry.text and entry.quotes == (("Description", "d"),)


def test_roles_changes_read_as_sentences_with_their_articles():
    added = timeline.entry(event("sme_added", {"person": "p-wes", "by": "p-sam"}), names, level)
    removed = timeline.entry(event("worker_removed", {"person": "p-wes", "by": "p-sam"}), names, level)
    assert added.text == "Sam added Wes as an SME"
    assert removed.text == "Sam removed Wes from the workers"


def test_s9_after_signing_in_only_a_path_of_this_site_is_followed():
    for kept in ("/", "/incidents/42", "/incidents/new?aspect=servers", "/people?q=ann"):
        assert security.safe_next(kept) == kept
    for refused in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/incidents\r\nSet-Cookie: x=1",
        "/session",
        "/session/end",
        "/static/console.js",
        "incidents/1",
        None,
        "/" + "a" * 3000,
    ):
        assert security.safe_next(refused) == "/", refused


def test_s9_a_csrf_token_belongs_to_its_session_alone():
    assert security.csrf_token("secret-a") != security.csrf_token("secret-b")
    assert security.same(security.csrf_token("secret-a"), security.csrf_token("secret-a"))
    assert not security.same(security.csrf_token("secret-a"), None)
    assert not security.same("", "")


def test_time_in_words_for_people_at_a_glance():
    assert views.ago(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert views.ago(NOW + timedelta(hours=2, minutes=10), NOW) == "in 2 h 10 min"
    assert views.ago(NOW + timedelta(seconds=20), NOW) == "in less than a minute"
    assert views.moment(NOW, views.zone("Europe/London"), NOW) == "04:00"
    assert views.moment(NOW - timedelta(days=2), views.zone("UTC"), NOW) == "Sun 1 Mar 04:00"
