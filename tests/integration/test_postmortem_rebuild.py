"""F6: rebuilding the post-mortem's read model from the streams' start gives what live processing built,
keeps what people wrote, and publishes nothing again."""

from datetime import UTC, datetime

from services.postmortem.rebuild import rebuild
from shared.clock import FakeClock
from tests.support.incident import auth, eventually
from tests.support.postmortem import (
    ADMIN_TOKEN,
    INCIDENT,
    TOKENS,
    checkout_incident,
    postmortem_service,
    projected,
    publish_all,
    write_postmortem,
)
from tests.support.streams import stream_events

TABLES = {
    "timeline": "event_id",
    "people": "id",
    "tokens": "id",
    "process_versions": "version",
    "aspects": "aspect",
    "section_edits": "id",
    "action_items": "id",
    "postmortems": "incident_id",
    "outbox": "position",
}


async def snapshot(pool) -> dict[str, list]:
    async with pool.acquire() as conn:
        return {
            table: [dict(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")]
            for table, key in TABLES.items()
        }


async def _sent(pool) -> bool:
    """The three action items' events and the publication's are out."""
    return await pool.fetchval("SELECT count(*) = 4 FROM outbox WHERE published_at IS NOT NULL")


async def test_f6_a_rebuild_from_the_streams_start_equals_live_processing_and_sends_nothing_again(
    database_url, nats_url
):
    events = checkout_incident()
    about_it = sum(1 for e in events if e.subject == INCIDENT)
    clock = FakeClock(datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    async with postmortem_service(database_url, nats_url, clock=clock) as (client, app):
        await publish_all(nats_url, events)
        # The same events again under fresh message ids, as after a crash outside the de-duplication window.
        for event in events[-5:]:
            await app.state.infra.js.publish(event.type, event.to_bytes(), headers={"Nats-Msg-Id": f"again-{event.id}"})
        await projected(client, INCIDENT, ADMIN_TOKEN, lambda d: len(d["timeline"]) == about_it)
        await write_postmortem(client, clock)
        assert (
            await client.post(f"/v1/postmortems/{INCIDENT}/publish", headers=auth(TOKENS["ann"]))
        ).status_code == 200
        live_report = (await client.get(f"/v1/postmortems/{INCIDENT}/report.md", headers=auth(ADMIN_TOKEN))).text
        await eventually(lambda: _sent(app.state.pool))  # the outbox had its turn before the snapshot
        live = await snapshot(app.state.pool)

        applied = await rebuild(app.state.pool, app.state.infra.js, batch=7)

        rebuilt = await snapshot(app.state.pool)
        report = (await client.get(f"/v1/postmortems/{INCIDENT}/report.md", headers=auth(ADMIN_TOKEN))).text
        published = await stream_events(nats_url, "WARROOM_POSTMORTEM")

    assert applied == len(events)
    assert rebuilt == live and report == live_report
    assert len(live["timeline"]) == about_it and len(live["section_edits"]) == 7
    assert [e.type for e in published] == ["warroom.postmortem.action_item_added.v1"] * 3 + [
        "warroom.postmortem.published.v1"
    ]
