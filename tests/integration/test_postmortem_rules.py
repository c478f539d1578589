"""R14, R16, R17 and the report's sections on events produced by the real incident service, with
the post-mortem service running beside it on the same PostgreSQL and NATS."""

from datetime import UTC, datetime

from tests.support.incident import eventually
from tests.support.org import organisation
from tests.support.postmortem import both_services, has, projected, section, write_lessons
from tests.support.streams import stream_events

STATUS = {
    "learned": "the disk is full",
    "tried": "vacuum",
    "outcome": "nothing freed",
    "working_on": "resize",
    "remaining": "verify",
}


def level(number: int, checklist: list[dict], **overrides) -> dict:
    return {
        "level": number,
        "name": f"Level {number}",
        "description": f"level {number}",
        "immediacy": "any_hour",
        "communications": "chat room",
        "observers": [],
        "checklist": checklist,
        "status_update_every": "PT1H",
        "public_update_every": "PT1H",
        "requires_pr_manager": False,
        "acknowledge_within": "PT5M",
        **overrides,
    }


def step(step_id: str, due_within: str | None) -> dict:
    return {"id": step_id, "title": step_id.replace("-", " ").capitalize(), "due_within": due_within}


# Deadlines short enough to miss in a test: the ticket is due a second after the declaration.
PROCESS_CHANGES = {
    "levels": [
        level(1, [step("announce", "PT1H"), step("call", "PT1H"), step("declare-over", None)]),
        level(2, [step("announce", "PT1H"), step("ticket", "PT1S")], status_update_every="PT2H"),
    ]
}


async def staffed_incident(incidents, org, severity: int = 2) -> tuple[dict, str]:
    """Declared for "servers" (Sam, then Tess, are its SMEs): Sam manages, Wes works, Olga observes."""
    process = (await incidents.get("/v1/process")).json()
    assert (await incidents.put("/v1/process", json={**process, **PROCESS_CHANGES})).status_code == 200
    incident = await org.declare(severity=severity)
    base = f"/v1/incidents/{incident['id']}"
    for path, person in (("workers", "Wes"), ("observers", "Olga")):
        assert (await org.post("Sam", f"{base}/{path}", {"person": org.id(person)})).status_code == 200
    return incident, base


async def resolve(org, base: str, by: str = "Sam") -> None:
    response = await org.post(by, f"{base}/resolve", {"resolution": "grew the disk", "test_plan": "load test"})
    assert response.status_code == 200, response.text


async def test_r14_adherence_shows_every_checklist_step_and_cadence_met_late_missed_or_not_due(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, base = await staffed_incident(incidents, org)
        assert (await org.post("Sam", f"{base}/acknowledge")).status_code == 200
        assert (await org.post("Sam", f"{base}/checklist/announce/done")).status_code == 200
        # Not before it is due: the ticket step is done late, by however long this took.
        declared = (await incidents.get(f"{base}/events")).json()["events"][0]["time"]
        await eventually(lambda: _later_than(declared, seconds=1.5), timeout=10)
        assert (await org.post("Sam", f"{base}/checklist/ticket/done")).status_code == 200
        assert (await org.post("Sam", f"{base}/severity", {"level": 1, "reason": "all regions"})).status_code == 200
        assert (await org.post("Wes", f"{base}/status-updates", STATUS)).status_code == 200
        await resolve(org, base)

        pm = await projected(postmortems, incident["id"], org.people["Sam"][1], has("resolved"))

    rows = {(r["kind"], r["level"], r["what"]): r for r in pm["adherence"]}
    assert rows[("acknowledgement", 2, "Acknowledge the page")]["outcome"] == "met"
    assert rows[("checklist", 2, "Announce")]["outcome"] == "met"
    assert rows[("checklist", 2, "Announce")]["person"] == org.id("Sam")
    late = rows[("checklist", 2, "Ticket")]
    assert late["outcome"] == "late" and late["late_by"] >= 0.5
    # Level 1 applied from the change on: a step done before counts.
    assert rows[("checklist", 1, "Announce")]["outcome"] == "met"
    # Due an hour after the change, but the incident was resolved first: nothing was owed.
    assert rows[("checklist", 1, "Call")]["outcome"] == "not_due"
    # The system declared it over by resolving it, when Sam resolved it.
    over = rows[("checklist", 1, "Declare over")]
    resolved_at = section(pm, "problem")["generated"]["resolved_at"]
    assert (over["outcome"], over["person"], over["done_at"]) == ("met", org.id("Sam"), resolved_at)
    updates = [r for r in pm["adherence"] if r["kind"] == "status_update"]
    assert [(u["outcome"], u["person"]) for u in updates] == [("met", org.id("Wes")), ("not_due", org.id("Wes"))]
    assert not [r for r in pm["adherence"] if r["outcome"] == "missed"]
    durations = pm["durations"]
    assert 0 < durations["to_acknowledge"] <= durations["to_first_status_update"] <= durations["to_resolve"]
    assert set(durations["at_level"]) == {"1", "2"}


def _later_than(moment: str, seconds: float) -> bool:
    start = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return (datetime.now(UTC) - start).total_seconds() > seconds


async def test_r16_publishing_freezes_the_report_and_the_incident_service_closes_the_incident(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, base = await staffed_incident(incidents, org)
        pm_base = f"/v1/postmortems/{incident['id']}"
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("observer_added"))

        still_open = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Sam"))
        await resolve(org, base)
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("resolved"))
        await write_lessons(postmortems, incident["id"], org.as_("Sam"))
        by_worker = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Wes"))
        by_sme = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Tess"))
        published = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Sam"))

        closed = await eventually(lambda: _closed(incidents, base), timeout=15)
        later = await postmortems.get(pm_base, headers=org.as_("Pat"))
        edit = await postmortems.put(f"{pm_base}/sections/cause", json={"text": "too late"}, headers=org.as_("Sam"))
        item = await postmortems.post(
            f"{pm_base}/action-items",
            headers=org.as_("Sam"),
            json={"title": "t", "owner": org.id("Wes"), "due": "2026-02-01", "kind": "handling"},
        )
        again = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Sam"))
        events = await stream_events(nats_url, "WARROOM_POSTMORTEM")

    assert still_open.status_code == 409 and still_open.json()["rule"] == "R15"
    assert by_worker.status_code == 403 and by_sme.status_code == 403
    assert published.status_code == 200, published.text
    report = published.json()
    assert (report["state"], report["published_by"]) == ("published", org.id("Sam"))
    assert closed["status"] == "closed"
    # Frozen: the incident's closure, which came after, is not in the published report.
    assert later.json() == report
    assert "warroom.incident.closed.v1" not in {e["type"] for e in report["timeline"]}
    assert [r.status_code for r in (edit, item, again)] == [409, 409, 409]
    assert [(e.type, e.subject, e.data) for e in events] == [
        ("warroom.postmortem.published.v1", incident["id"], {"incident_id": incident["id"], "by": org.id("Sam")})
    ]


async def test_r16_publishing_while_cause_prevention_or_handling_lessons_is_empty_is_refused_naming_them(
    database_url, nats_url
):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, base = await staffed_incident(incidents, org)
        pm_base = f"/v1/postmortems/{incident['id']}"
        await resolve(org, base)
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("resolved"))
        prompt = section((await postmortems.get(pm_base, headers=org.as_("Sam"))).json(), "prevention")["prompt"]

        async def write(section_id: str, text: str) -> None:
            response = await postmortems.put(
                f"{pm_base}/sections/{section_id}", json={"text": text}, headers=org.as_("Sam")
            )
            assert response.status_code == 200, response.text

        # Cause only blank, Prevention only its prompt copied back, Handling lessons never written.
        await write("cause", "  \n ")
        await write("prevention", prompt)
        await write("handling", "Sam found the full disk at once.")
        nothing_written = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Sam"))
        await write("cause", "The disk filled up with logs.")
        two_missing = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Admin"))
        draft = (await postmortems.get(pm_base, headers=org.as_("Sam"))).json()
        incident_now = (await incidents.get(base)).json()
        events = await stream_events(nats_url, "WARROOM_POSTMORTEM")

        await write("prevention", "Alert at 80% disk usage.")
        await write("handling_lessons", "Nothing to add: it went by the book.")
        complete = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Sam"))

    assert nothing_written.status_code == 422
    assert nothing_written.headers["content-type"] == "application/problem+json"
    problem = nothing_written.json()
    assert problem["rule"] == "R16"
    assert [e["section"] for e in problem["errors"]] == ["cause", "prevention", "handling_lessons"]
    assert all(title in problem["detail"] for title in ("Cause", "Prevention", "Handling lessons"))
    assert two_missing.status_code == 422 and two_missing.json()["rule"] == "R16"
    assert [e["section"] for e in two_missing.json()["errors"]] == ["prevention", "handling_lessons"]
    assert "Cause" not in two_missing.json()["detail"]
    # Nothing changed: still a draft, the incident not closed, nothing told to the other services.
    assert (draft["state"], draft["published_at"]) == ("draft", None)
    assert incident_now["status"] == "resolved"
    assert "warroom.postmortem.published.v1" not in [e.type for e in events]
    assert complete.status_code == 200, complete.text


async def _closed(incidents, base: str) -> dict | None:
    incident = (await incidents.get(base)).json()
    return incident if incident["status"] == "closed" else None


async def test_sections_keep_every_edit_with_author_and_time_and_only_the_permitted_roles_write(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, base = await staffed_incident(incidents, org)
        pm_base = f"/v1/postmortems/{incident['id']}"
        # Sam hands over to Mia: Sam stays a (past) manager, Tess is an SME who never managed.
        assert (
            await org.post("Sam", f"{base}/handover", {"to": org.id("Mia"), "briefing": "yours"})
        ).status_code == 200
        assert (await org.post("Mia", f"{base}/handover/accept")).status_code == 200
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("manager_changed"))

        answers = {}
        for writer, text in (
            ("Sam", "disk full"),
            ("Tess", "disk full after a log storm"),
            ("Wes", "mine"),
            ("Olga", "mine"),
            ("Pat", "mine"),
            ("Mia", "disk full after a log storm (confirmed)"),
            ("Admin", "disk full after a log storm; alerting missed it"),
        ):
            answers[writer] = await postmortems.put(
                f"{pm_base}/sections/cause", json={"text": text}, headers=org.as_(writer)
            )
        unknown = await postmortems.put(f"{pm_base}/sections/weather", json={"text": "x"}, headers=org.as_("Sam"))
        strict = await postmortems.put(
            f"{pm_base}/sections/cause", json={"text": "x", "by": "Sam"}, headers=org.as_("Sam")
        )
        pm = (await postmortems.get(pm_base, headers=org.as_("Wes"))).json()

    assert {w: r.status_code for w, r in answers.items()} == {
        "Sam": 200,
        "Tess": 200,
        "Wes": 403,
        "Olga": 403,
        "Pat": 403,
        "Mia": 200,
        "Admin": 200,
    }
    assert answers["Wes"].json()["rule"].startswith("permissions")
    assert unknown.status_code == 422 and strict.status_code == 422
    cause = section(pm, "cause")
    assert cause["text"] == "disk full after a log storm; alerting missed it" and cause["written"]
    assert [(e["by_name"], e["text"]) for e in cause["history"]] == [
        ("Sam", "disk full"),
        ("Tess", "disk full after a log storm"),
        ("Mia", "disk full after a log storm (confirmed)"),
        ("Admin", "disk full after a log storm; alerting missed it"),
    ]
    assert [e["by"] for e in cause["history"][:3]] == [org.id("Sam"), org.id("Tess"), org.id("Mia")]
    times = [e["at"] for e in cause["history"]]
    assert times == sorted(times) and cause["written_at"] == times[-1]
    assert not section(pm, "problem")["written"] and section(pm, "problem")["prompt"]


async def test_participants_and_handling_sections_show_tenures_and_quote_what_people_wrote(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, base = await staffed_incident(incidents, org)
        response = await incidents.put(f"{base}/pr-manager", json={"person": org.id("Prue")}, headers=org.as_("Sam"))
        assert response.status_code == 200
        assert (await org.post("Wes", f"{base}/status-updates", STATUS)).status_code == 200
        assert (await org.post("Prue", f"{base}/public-updates", {"message": "We are on it"})).status_code == 200
        assert (
            await org.post("Sam", f"{base}/handover", {"to": org.id("Mia"), "briefing": "yours"})
        ).status_code == 200
        assert (await org.post("Mia", f"{base}/handover/accept")).status_code == 200
        await resolve(org, base, by="Mia")
        pm = await projected(postmortems, incident["id"], org.people["Sam"][1], has("resolved"))

    people = {p["name"]: p for p in pm["participants"]}
    sam, mia = people["Sam"]["tenures"], people["Mia"]["tenures"]
    assert len(sam) == 1 and len(mia) == 1 and sam[0]["to"] == mia[0]["from"] and mia[0]["to"] is not None
    assert people["Sam"]["roles"] == ["manager", "sme"] and people["Wes"]["roles"] == ["worker"]
    assert people["Olga"]["roles"] == ["observer"] and people["Prue"]["roles"] == ["pr_manager"]
    assert people["Pat"]["roles"] == ["declarer"]
    generated = section(pm, "participants")["generated"]
    assert [m["name"] for m in generated["managers"]] == ["Sam", "Mia"]
    quotes = {e["type"]: e["quote"] for e in pm["timeline"] if e["quote"]}
    assert "Learned: the disk is full" in quotes["warroom.incident.status_updated.v1"]
    assert quotes["warroom.incident.public_update_posted.v1"] == "We are on it"
    summaries = [e["summary"] for e in pm["timeline"]]
    assert "Mia took over as manager from Sam" in summaries and "Wes reported status" in summaries
    solution = section(pm, "solution")["generated"]
    assert (solution["resolution"], solution["test_plan"]) == ("grew the disk", "load test")


async def test_r17_applying_a_refinement_publishes_a_new_process_version_citing_the_post_mortem(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, base = await staffed_incident(incidents, org)
        assert (
            await org.post("Sam", f"{base}/handover", {"to": org.id("Mia"), "briefing": "yours"})
        ).status_code == 200
        assert (await org.post("Mia", f"{base}/handover/accept")).status_code == 200
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("manager_changed"))
        items = f"/v1/postmortems/{incident['id']}/action-items"

        async def add(by: str, **item):
            body = {"title": "Refine", "owner": org.id("Mia"), "due": "2026-02-01", **item}
            return await postmortems.post(items, json=body, headers=org.as_(by))

        refused_bodies = [
            await add("Sam", kind="process_refinement"),
            await add("Sam", kind="prevention", change={"manager_shift_limit": "PT6H"}),
            await add("Sam", kind="handling", owner="nobody"),
        ]
        by_worker = await add("Wes", kind="handling")
        shorter_shift = await add(
            "Sam", kind="process_refinement", change={"manager_shift_limit": "PT6H", "handover_warning_after": "PT5H"}
        )
        before = (await incidents.get("/v1/process")).json()["version"]
        by_sme = await postmortems.post(f"{items}/1/apply", headers=org.as_("Tess"))
        applied = await postmortems.post(f"{items}/1/apply", headers=org.as_("Sam"))  # a past manager
        twice = await postmortems.post(f"{items}/1/apply", headers=org.as_("Sam"))
        process = (await incidents.get("/v1/process")).json()
        later = await org.declare()
        pm = (await postmortems.get(f"/v1/postmortems/{incident['id']}", headers=org.as_("Pat"))).json()
        published = [
            e for e in await stream_events(nats_url, "WARROOM_INCIDENT") if e.type == "warroom.process.published.v1"
        ]

    assert [r.status_code for r in refused_bodies] == [422, 422, 422] and by_worker.status_code == 403
    assert shorter_shift.status_code == 201 and shorter_shift.headers["location"].endswith("/action-items/1")
    assert by_sme.status_code == 403 and by_sme.json()["rule"] == "R17"
    assert applied.status_code == 200, applied.text
    assert applied.json()["process_version"] == before + 1 == process["version"]
    assert process["manager_shift_limit"] == "PT6H" and process["handover_warning_after"] == "PT5H"
    assert published[-1].data["cites_postmortem"] == incident["id"]
    assert twice.status_code == 409 and twice.json()["rule"] == "R17"
    # The incident keeps the version it was declared under; the next one runs under the refined process.
    assert pm["process_version"] == before and later["process_version"] == before + 1
    item = pm["action_items"][0]
    assert (item["kind"], item["applied_version"], item["applied_by"]) == (
        "process_refinement",
        before + 1,
        org.id("Sam"),
    )


async def test_r17_a_refinement_that_no_longer_fits_is_refused_as_the_incident_service_says_and_nothing_changes(
    database_url, nats_url
):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, base = await staffed_incident(incidents, org)
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("observer_added"))
        items = f"/v1/postmortems/{incident['id']}/action-items"
        for change, kind in (
            ({"handover_warning_after": "PT9H"}, "process_refinement"),  # after the shift limit
            ({"manager_shift_limit": "PT8H"}, "process_refinement"),  # already so
            (None, "prevention"),
        ):
            body = {"title": "t", "owner": org.id("Sam"), "due": "2026-02-01", "kind": kind, "change": change}
            response = await postmortems.post(
                items, json={k: v for k, v in body.items() if v is not None}, headers=org.as_("Sam")
            )
            assert response.status_code == 201, response.text
        version = (await incidents.get("/v1/process")).json()["version"]

        misfit = await postmortems.post(f"{items}/1/apply", headers=org.as_("Sam"))
        unchanged = await postmortems.post(f"{items}/2/apply", headers=org.as_("Sam"))
        not_a_refinement = await postmortems.post(f"{items}/3/apply", headers=org.as_("Sam"))
        missing = await postmortems.post(f"{items}/4/apply", headers=org.as_("Sam"))
        pm = (await postmortems.get(f"/v1/postmortems/{incident['id']}", headers=org.as_("Sam"))).json()
        after = (await incidents.get("/v1/process")).json()["version"]

    assert misfit.status_code == 422 and misfit.headers["content-type"] == "application/problem+json"
    assert misfit.json()["rule"] == "R17" and misfit.json()["errors"]
    assert unchanged.status_code == 409 and unchanged.json()["rule"] == "R17"
    assert "already part of the current process" in unchanged.json()["detail"]
    assert not_a_refinement.status_code == 409 and missing.status_code == 404
    assert after == version
    assert [i["applied_version"] for i in pm["action_items"]] == [None, None, None]


async def test_r17_adding_an_action_item_publishes_it_with_exactly_the_recorded_change(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident, _ = await staffed_incident(incidents, org)
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("observer_added"))
        items = f"/v1/postmortems/{incident['id']}/action-items"
        change = {
            "levels": [level(1, [step("announce", "PT30M")], status_update_every="PT30M")],
            "manager_shift_limit": "PT6H",
            "handover_warning_after": "PT5H",
            "catch_all_sme": None,
        }
        refinement = await postmortems.post(
            items,
            headers=org.as_("Sam"),
            json={
                "title": "Shorter shifts",
                "owner": org.id("Mia"),
                "due": "2026-02-01",
                "kind": "process_refinement",
                "change": change,
            },
        )
        prevention = await postmortems.post(
            items,
            headers=org.as_("Tess"),
            json={"title": "Alert on disk usage", "owner": org.id("Wes"), "due": "2026-02-01", "kind": "prevention"},
        )

        async def both_published():
            events = [
                e
                for e in await stream_events(nats_url, "WARROOM_POSTMORTEM")
                if e.type == "warroom.postmortem.action_item_added.v1"
            ]
            return events if len(events) == 2 else None

        events = await eventually(both_published, timeout=15)
        recorded = (await postmortems.get(f"/v1/postmortems/{incident['id']}", headers=org.as_("Sam"))).json()

    assert refinement.status_code == 201 and prevention.status_code == 201
    assert [(e.source, e.subject) for e in events] == [("warroom/postmortem", incident["id"])] * 2
    assert [e.data for e in events] == [
        {
            "incident_id": incident["id"],
            "item_id": 1,
            "kind": "process_refinement",
            "title": "Shorter shifts",
            "owner": org.id("Mia"),
            "by": org.id("Sam"),
            "change": change,
        },
        {
            "incident_id": incident["id"],
            "item_id": 2,
            "kind": "prevention",
            "title": "Alert on disk usage",
            "owner": org.id("Wes"),
            "by": org.id("Tess"),
            "change": None,
        },
    ]
    assert events[0].data["change"] == recorded["action_items"][0]["change"] == change
