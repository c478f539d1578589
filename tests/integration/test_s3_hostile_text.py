"""S3: one edge refuses what cannot be stored or shown safely — NUL and other control characters,
line breaks in a single-line field, lone surrogates, over-long values, JSON nested too deep — with
a 422 naming the field, before anything is written; what it accepts reaches every service (the
page is delivered, the post-mortem draft exists, the incident is listed, nothing is parked)."""

import asyncio
import json
from urllib.parse import quote

import asyncpg
import httpx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.support.fuzzing import UNTHROTTLED
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually, incident_service, register
from tests.support.notifier import Receiver, notifier
from tests.support.postmortem import both_services, postmortem_service, projected

EXAMPLES = 30  # per field: enough to meet every kind of hostile text, quick enough for make test
ADMIN = auth(ADMIN_TOKEN)
JSON = {"content-type": "application/json"}


def raw(body: dict) -> bytes:
    """A JSON body as a hostile client sends it: lone surrogates as \\u escapes (ASCII JSON)."""
    return json.dumps(body).encode()


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


def nested(depth: int) -> dict:
    change: dict = {"catch_all_sme": None}
    for _ in range(depth - 1):
        change = {"levels": change}
    return change


async def stored_events(app) -> int:
    """The incident service's event store, as far as it goes (nothing written: it does not move)."""
    return await asyncio.to_thread(app.state.application.recorder.max_notification_id) or 0


async def test_s3_a_nul_in_a_title_is_refused_and_nothing_is_declared(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        sam, _ = await register(client, "Sam")
        assert (await client.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
        before = await stored_events(app)
        nul = await client.post(
            "/v1/incidents", content=raw({"title": "nul\u0000byte", "aspect": "servers", "severity": 1}), headers=JSON
        )
        crlf = await client.post(
            "/v1/incidents", json={"title": "x\r\nBcc: all@example.com", "aspect": "servers", "severity": 1}
        )
        after = await stored_events(app)
        listed = (await client.get("/v1/incidents")).json()["incidents"]

    assert fields(nul) == ["title"] and "U+0000" in nul.json()["errors"][0]["message"]
    assert fields(crlf) == ["title"] and "line break" in crlf.json()["errors"][0]["message"]
    assert after == before and listed == []


async def test_s3_a_nul_in_a_persons_name_is_refused_and_nobody_is_registered(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        before = await stored_events(app)
        nul = await client.post("/v1/people", json={**PERSON, "name": "Ada\u0000Lovelace"})
        surrogate = await client.post("/v1/people", content=raw({**PERSON, "name": "Ada \ud800"}), headers=JSON)
        after = await stored_events(app)

    assert fields(nul) == ["name"] and fields(surrogate) == ["name"]
    assert after == before


async def test_s3_an_aspect_with_a_nul_in_the_path_is_refused_and_the_directory_is_unchanged(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        sam, _ = await register(client, "Sam")
        directory = (await client.get("/v1/directory/aspects")).json()
        before = await stored_events(app)
        nul = await client.put("/v1/directory/aspects/dat%00abase", json={"smes": [sam]})
        line = await client.put("/v1/directory/aspects/data%0D%0Abase", json={"smes": [sam]})
        long = await client.put(f"/v1/directory/aspects/{'a' * 101}", json={"smes": [sam]})
        read = await client.get("/v1/directory/aspects/dat%00abase")
        after = await stored_events(app)
        unchanged = (await client.get("/v1/directory/aspects")).json()
        at_the_limit = await client.put(f"/v1/directory/aspects/{'a' * 100}", json={"smes": [sam]})

    for refused in (nul, line, long, read):
        assert fields(refused) == ["path.aspect"]
    assert after == before and unchanged == directory
    assert at_the_limit.status_code == 200, at_the_limit.text


async def test_s3_an_action_item_whose_change_is_nested_300_levels_deep_is_refused_and_not_stored(
    database_url, nats_url
):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        sam, token = await register(incidents, "Sam")
        assert (await incidents.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
        incident = (
            await incidents.post(
                "/v1/incidents", json={"title": "Disk full", "aspect": "servers", "severity": 1}, headers=auth(token)
            )
        ).json()
        base = f"/v1/postmortems/{incident['id']}"
        await projected(postmortems, incident["id"], token)
        answers = {}
        for depth in (33, 300, 490, 900):
            item = {
                "title": "Name a catch-all",
                "owner": sam,
                "due": "2026-12-01",
                "kind": "process_refinement",
                "change": nested(depth),
            }
            answers[depth] = await postmortems.post(f"{base}/action-items", json=item, headers=auth(token))
        items = (await postmortems.get(base, headers=auth(token))).json()["action_items"]
        at_the_limit = await postmortems.post(
            f"{base}/action-items",
            headers=auth(token),
            json={
                "title": "Name a catch-all",
                "owner": sam,
                "due": "2026-12-01",
                "kind": "process_refinement",
                "change": nested(32),
            },
        )

    for depth, answer in answers.items():
        assert fields(answer) == ["change"], depth
        assert "nested deeper than 32" in answer.json()["errors"][0]["message"]
    assert items == []
    assert at_the_limit.status_code == 201, at_the_limit.text


async def test_s3_a_process_or_refinement_nested_300_levels_deep_is_refused_and_nothing_is_published(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, app):
        process = (await client.get("/v1/process")).json()
        before = await stored_events(app)
        answers = []
        for depth in (300, 490, 900):
            answers.append(await client.put("/v1/process", json={**process, "levels": [nested(depth)]}))
            answers.append(await client.put("/v1/process", json={**process, "catch_all_sme": nested(depth)}))
            answers.append(
                await client.post(
                    "/v1/process/refinements", json={"postmortem": "p1", "action_item": 1, "change": nested(depth)}
                )
            )
        after = await stored_events(app)
        version = (await client.get("/v1/process")).json()["version"]

    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert {fields(answer)[0].split(".")[0] for answer in answers} == {"levels", "catch_all_sme", "change"}
    assert after == before and version == process["version"]


# Every general category of Unicode (surrogates apart: below), control characters among them.
CATEGORIES = (
    "Lu",
    "Ll",
    "Lt",
    "Lm",
    "Lo",
    "Mn",
    "Mc",
    "Me",
    "Nd",
    "Nl",
    "No",
    "Pc",
    "Pd",
    "Ps",
    "Pe",
    "Pi",
    "Pf",
    "Po",
    "Sm",
    "Sc",
    "Sk",
    "So",
    "Zs",
    "Zl",
    "Zp",
    "Cc",
    "Cf",
    "Co",
    "Cn",
)
HOSTILE = st.one_of(
    st.text(st.characters(codec=None, categories=CATEGORIES), min_size=1, max_size=40),
    st.text(st.characters(codec=None, max_codepoint=0x9F), min_size=1, max_size=20),  # C0, DEL and C1 often
    st.tuples(
        st.text(max_size=5), st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)
    ).map("".join),  # lone surrogates
    st.sampled_from(
        [
            "Checkout\r\nBcc: all@example.com",
            "two\nlines",
            "tab\tseparated",
            "nul\x00byte",
            "del\x7f",
            "next\x85line",
            "line\u2028separator",
            "zero\u200bwidth",
            "\ufeffbom",
            "ok",
        ]
    ),
    st.integers(min_value=60, max_value=12_000).map(lambda n: "é" * n),  # around every field's limit
)


class Probe:
    """The three services of one test, driven from hypothesis's thread onto the test's event loop."""

    def __init__(self, loop, incidents, notifier_api, postmortems, app):
        self.loop, self.incidents, self.notifier, self.postmortems, self.app = (
            loop,
            incidents,
            notifier_api,
            postmortems,
            app,
        )

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def send(self, method: str, path: str, body: dict, headers: dict, client=None) -> httpx.Response:
        return self.run(
            (client or self.incidents).request(method, path, content=raw(body), headers={**JSON, **headers})
        )

    def events(self) -> int:
        return self.run(stored_events(self.app))


def refused_or_accepted(response: httpx.Response, field: str, ok: int) -> bool:
    """True when accepted; a refusal must be a 422 naming the field (checked here)."""
    if response.status_code == ok:
        return True
    assert field in fields(response), (field, response.text)
    return False


def fuzz(field: str, check) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(value=HOSTILE)
    def run(value):
        check(value)

    run()


async def test_s3_hostile_text_in_any_field_is_refused_or_reaches_the_page_the_draft_and_the_list(
    database_url, nats_url
):
    async with Receiver() as receiver, incident_service(database_url, nats_url, **UNTHROTTLED) as (incidents, app):
        sam, sam_token = await register(incidents, "Sam", webhook_url=receiver.url("/sam"))
        wes, wes_token = await register(incidents, "Wes")
        assert (await incidents.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
        process = (await incidents.get("/v1/process")).json()
        assert (await incidents.put("/v1/process", json={**process, "catch_all_sme": sam})).status_code == 200
        async with (
            notifier(database_url, nats_url, **UNTHROTTLED) as running,
            postmortem_service(database_url, nats_url, incident_app=app, **UNTHROTTLED) as (postmortems, _),
        ):
            base = (
                await incidents.post(
                    "/v1/incidents", json={"title": "Base", "aspect": "servers", "severity": 1}, headers=auth(sam_token)
                )
            ).json()["id"]
            assert (
                await incidents.post(f"/v1/incidents/{base}/workers", json={"person": wes}, headers=auth(sam_token))
            ).status_code == 200
            await projected(postmortems, base, sam_token)
            probe = Probe(asyncio.get_running_loop(), incidents, running.api, postmortems, app)
            declared, updates, names = [base], [], {}

            def declaration(field):
                def check(value):
                    body = {"title": "Disk full", "description": "", "aspect": "servers", "severity": 1, field: value}
                    before = probe.events()
                    answer = probe.send("POST", "/v1/incidents", body, auth(sam_token))
                    if refused_or_accepted(answer, field, 201):
                        declared.append(answer.json()["id"])
                    else:
                        assert probe.events() == before

                return check

            def person(field):
                def check(value):
                    shaped = {
                        "email": f"{value}@example.com",
                        "groups": [value],
                        "webhook_url": receiver.url(f"/people/{value}"),
                    }.get(field, value)
                    before = probe.events()
                    answer = probe.send(
                        "POST",
                        "/v1/people",
                        {**PERSON, "name": "Pia", "email": "pia@example.com", field: shaped},
                        ADMIN,
                    )
                    if not refused_or_accepted(answer, field.replace("groups", "groups.0"), 201):
                        assert probe.events() == before
                        return
                    pia = answer.json()
                    names[pia["id"]] = pia["name"]
                    managed = probe.send(
                        "POST",
                        "/v1/incidents",
                        {"title": "Pia's", "aspect": "servers", "severity": 1, "manager": pia["id"]},
                        ADMIN,
                    )
                    assert managed.status_code == 201, managed.text
                    declared.append(managed.json()["id"])

                return check

            def aspect(value):
                assume("/" not in value and value not in (".", ".."))  # a path segment cannot say these
                before = probe.events()
                path = quote(value.encode("utf-8", "surrogatepass"), safe="")
                assume(len(path) <= 8000)  # longer URLs are refused by clients and proxies before any service
                answer = probe.send("PUT", f"/v1/directory/aspects/{path}", {"smes": [sam]}, ADMIN)
                if not refused_or_accepted(answer, "path.aspect", 200):
                    assert probe.events() == before
                    return
                body = {"title": "Aspect", "aspect": answer.json()["aspect"], "severity": 1}
                on_it = probe.send("POST", "/v1/incidents", body, auth(sam_token))
                assert on_it.status_code == 201, on_it.text  # the body takes what the path took
                declared.append(on_it.json()["id"])

            def status_update(field):
                def check(value):
                    parts = {part: "ok" for part in ("learned", "tried", "outcome", "working_on", "remaining")}
                    version = probe.run(incidents.get(f"/v1/incidents/{base}")).json()["version"]
                    answer = probe.send(
                        "POST", f"/v1/incidents/{base}/status-updates", {**parts, field: value}, auth(wes_token)
                    )
                    if refused_or_accepted(answer, field, 200):
                        updates.append(value)
                    else:
                        assert probe.run(incidents.get(f"/v1/incidents/{base}")).json()["version"] == version

                return check

            def narrative(value):
                path = f"/v1/postmortems/{base}/sections/cause"
                before = probe.run(postmortems.get(f"/v1/postmortems/{base}", headers=auth(sam_token))).json()
                answer = probe.send("PUT", path, {"text": value}, auth(sam_token), client=postmortems)
                after = probe.run(postmortems.get(f"/v1/postmortems/{base}", headers=auth(sam_token))).json()
                cause = next(s for s in after["sections"] if s["id"] == "cause")
                if refused_or_accepted(answer, "text", 200):
                    assert cause["text"] == json.loads(json.dumps(value))  # a surrogate pair is one character
                else:
                    assert cause == next(s for s in before["sections"] if s["id"] == "cause")

            checks = [
                *((f"declaration.{f}", declaration(f)) for f in ("title", "description", "aspect")),
                *((f"person.{f}", person(f)) for f in ("name", "email", "timezone", "phone", "groups", "webhook_url")),
                ("path.aspect", aspect),
                *(
                    (f"status_update.{f}", status_update(f))
                    for f in ("learned", "tried", "outcome", "working_on", "remaining")
                ),
                ("postmortem.cause", narrative),
            ]
            for name, check in checks:
                await asyncio.to_thread(fuzz, name, check)

            # What was accepted reached everyone: paged, drafted, listed; nothing parked anywhere.
            async def everywhere():
                listed = {
                    i["id"] for i in (await incidents.get("/v1/incidents", params={"limit": 500})).json()["incidents"]
                }
                pages = {
                    d["incident_id"]
                    for d in (await running.api.get("/v1/deliveries", params={"limit": 500}, headers=ADMIN)).json()[
                        "deliveries"
                    ]
                    if d["reason"] == "paged"
                }
                drafts = [(await postmortems.get(f"/v1/postmortems/{i}", headers=ADMIN)).status_code for i in declared]
                return set(declared) <= listed and set(declared) <= pages and set(drafts) == {200}

            await eventually(everywhere, timeout=30)

            async def updates_everywhere():
                told = [
                    d
                    for d in (
                        await running.api.get(
                            "/v1/deliveries", params={"incident_id": base, "limit": 500}, headers=ADMIN
                        )
                    ).json()["deliveries"]
                    if d["reason"] == "status_update"
                ]
                report = (await postmortems.get(f"/v1/postmortems/{base}", headers=ADMIN)).json()
                quoted = [e for e in report["timeline"] if e["type"] == "warroom.incident.status_updated.v1"]
                return len(told) == len(quoted) == len(updates)

            await eventually(updates_everywhere, timeout=30)

            participants = {}
            for incident_id in declared:
                report = (await postmortems.get(f"/v1/postmortems/{incident_id}", headers=ADMIN)).json()
                participants.update({p["person"]: p["name"] for p in report["participants"]})

        pool = await asyncpg.connect(database_url)
        try:
            parked = {
                schema: await pool.fetchval(f"SELECT count(*) FROM {schema}.parked_events")
                for schema in ("incident", "notifier", "postmortem")
            }
        finally:
            await pool.close()

    assert parked == {"incident": 0, "notifier": 0, "postmortem": 0}
    assert all(participants[person] == name for person, name in names.items())
    assert len(declared) > 10 and updates  # the strategies reach acceptance as well as refusal
