"""Writes tests/unit/fixtures/stored_events.json: every kind of stored event, as the store keeps it.

Run once when a stored event class is added (never to "fix" a failing load test: stored events
are forever; a changed class needs an upcaster or a registered old topic instead). Samples already in
the file are kept as they are (they prove older forms still load); only new topics are added.

    .venv/bin/python -m tests.unit.make_stored_events_fixture
"""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.incident.alerts import Notification
from tests.unit.test_incident_domain import ADMIN_TOKEN, World

FIXTURE = Path(__file__).parent / "fixtures" / "stored_events.json"


def scenario() -> World:
    world = World()
    world.process(catch_all_sme=world.id("olga"))
    incident = world.declare()
    steps = [
        ("sam", lambda i, ctx: i.acknowledge(ctx)),
        ("sam", lambda i, ctx: i.add_worker(world.id("wes"), 0, True, ctx)),
        ("sam", lambda i, ctx: i.add_member("sme", world.id("pat"), ctx)),
        ("sam", lambda i, ctx: i.add_member("observer", world.id("olga"), ctx)),
        ("sam", lambda i, ctx: i.assign_pr_manager(world.id("prue"), ctx)),
        ("olga", lambda i, ctx: i.give_severity_input(2, "calmer", ctx)),
        ("sam", lambda i, ctx: i.change_severity(2, "workaround", [7], ctx)),
        ("sam", lambda i, ctx: i.request_status(ctx)),
        (
            "wes",
            lambda i, ctx: i.post_status_update(
                dict(learned="a", tried="b", outcome="c", working_on="d", remaining="e"), ctx
            ),
        ),
        ("sam", lambda i, ctx: i.brief_observers("on it", ctx)),
        ("prue", lambda i, ctx: i.post_public_update("on it", ctx)),
        ("sam", lambda i, ctx: i.request_affected_info("where?", ctx)),
        ("prue", lambda i, ctx: i.report_affected_info("EU", ctx)),
        ("sam", lambda i, ctx: i.complete_step("announce", ctx)),
        ("sam", lambda i, ctx: i.offer_handover(world.id("tess"), "yours", ctx)),
        ("tess", lambda i, ctx: i.decline_handover(ctx)),
        ("sam", lambda i, ctx: i.remove_member("observer", world.id("olga"), ctx)),
        ("sam", lambda i, ctx: i.remove_member("sme", world.id("pat"), ctx)),
        ("sam", lambda i, ctx: i.remove_worker(world.id("wes"), ctx)),
        ("admin", lambda i, ctx: i.force_handover(world.id("tess"), "unreachable", ctx)),
        ("tess", lambda i, ctx: i.resolve("fixed", "tests", ctx)),
        ("tess", lambda i, ctx: i.reopen("back", ctx)),
    ]
    for who, change in steps:
        world.do(incident, who, change)
    other = world.declare()
    world.app.consequences.escalate(str(other.id), world.id("sam"), "t1")
    world.app.consequences.escalate(str(other.id), world.id("tess"), "t2")
    world.app.consequences.escalate(str(other.id), world.id("olga"), "t3")
    world.clock.advance(timedelta(hours=9))
    world.app.consequences.record_shift_breach(str(other.id), world.id("olga"), "t4")
    world.app.consequences.close_incident(str(incident.id), world.id("tess"))
    token_id, _ = world.app.people.issue_token(world.id("wes"), world.admin)
    world.app.people.revoke_token(token_id, world.admin)
    world.app.people.ensure_admin("rotated-admin-token")
    world.app.people.ensure_admin(ADMIN_TOKEN)  # rotating back reinstates the first token
    world.app.organisation.set_aspect("web", [], world.admin)
    world.app.organisation.file_report("typo", "", "web", world.people["pat"])
    _people_and_tokens(world)
    _alerts(world)
    return world


def _alerts(world: World) -> None:
    """Alertmanager's alerts: a group declares, attaches, resolves, and begins again once closed; one files a
    report and adds its next alert to it."""
    world.process(alert_routes=[{"match": {"team": "web"}, "aspect": "servers", "severity": 1}])

    def alert(name: str, status: str = "firing", team: str = "web") -> dict:
        labels = {"alertname": name, "team": team}
        return {"fingerprint": name, "status": status, "labels": labels, "annotations": {}, "starts_at": "2026-03-02"}

    receive, pat = world.app.alerts.receive, world.people["pat"]
    incident_id = receive(Notification("{}:{group=web}", [alert("A")]), pat).incident_id
    receive(Notification("{}:{group=web}", [alert("A", "resolved"), alert("B")]), pat)
    receive(Notification("{}:{group=db}", [alert("C", team="db")]), pat)
    receive(Notification("{}:{group=db}", [alert("C", team="db"), alert("E", team="db")]), pat)  # same report
    world.app.consequences.close_incident(str(incident_id), world.id("tess"))
    receive(Notification("{}:{group=web}", [alert("D")]), pat)


def _people_and_tokens(world: World) -> None:
    """People edited, deactivated and activated; a token's expiry set; the keyrings indexed."""
    people, admin = world.app.people, world.admin
    world.app.people_admin.update(world.id("wes"), {"phone": "+44 20 7946 0000"}, admin, validate=lambda p: p)
    token_id, _ = people.issue_token(world.id("wes"), admin, label="laptop", expires_at=_later(world, days=30))
    people.set_token_expiry(token_id, _later(world, days=7), admin)
    world.app.people_admin.deactivate(world.id("wes"), admin)
    world.app.people_admin.activate(world.id("wes"), admin)
    people.index_tokens()


def _later(world: World, days: int) -> Any:
    return world.clock.now() + timedelta(days=days)


def main() -> None:
    world = scenario()
    out = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else []
    seen = {item["topic"] for item in out}
    for n in world.app.recorder.select_notifications(start=1, limit=10_000):
        if n.topic not in seen:
            seen.add(n.topic)
            out.append(
                {
                    "originator_id": str(n.originator_id),
                    "originator_version": n.originator_version,
                    "topic": n.topic,
                    "state": n.state.decode(),
                }
            )
    FIXTURE.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
