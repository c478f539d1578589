"""Group commit in the event store (services/incident/recorder.py, group_commit.py): saves that queue while
one is written go in one transaction together, each answered with its own ids, or refused alone.

Each scenario holds the events table's lock from a connection of its own while the saves start: the first
save's write waits for it inside PostgreSQL, every other save queues behind it in the service, and once the
lock is released they are written — together — in the next write.
"""

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from eventsourcing.persistence import IntegrityError
from psycopg import sql

from services.incident import integrity
from services.incident.domain import Context
from services.incident.policy import Actor
from shared.idempotency import Answered, Claim
from tests.support.incident import auth, event_store, eventually, incident_service, register
from tests.support.streams import stream_events

SAVES = 12


def _plain(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


@contextmanager
def table_locked(database_url: str, recorder) -> Iterator[psycopg.Connection]:
    """The events table locked against writers (as a group's write locks it) until the block ends."""
    with psycopg.connect(_plain(database_url)) as conn:
        conn.execute(
            sql.SQL("LOCK TABLE {}.{} IN SHARE MODE").format(
                sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
            )
        )
        yield conn
        conn.commit()


def waiting_for_the_lock(conn: psycopg.Connection) -> int:
    """Sessions of this database waiting for a lock: the saves inside PostgreSQL, not queued in the service."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def saved_as_a_group(database_url: str, app, saves: list[Callable[[], object]]) -> list[object]:
    """Runs the saves on threads of their own, the first written alone while the table is locked and the others
    queued behind it; then releases the lock. Returns each save's outcome (its result or its exception), and
    checks that it took two writes: the first, and one for all the others."""
    committer = app.recorder.group_commit
    outcomes: list[object] = [None] * len(saves)

    def run(n: int) -> None:
        try:
            outcomes[n] = saves[n]()
        except Exception as exc:  # noqa: BLE001 — the outcome under test
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(saves))]
    writes = committer.writes
    with table_locked(database_url, app.recorder) as conn:
        threads[0].start()
        _until(lambda: waiting_for_the_lock(conn) == 1)
        for thread in threads[1:]:
            thread.start()
        _until(lambda: committer.queued() == len(saves) - 1)
        # The others wait in the service, not in PostgreSQL: one write only is under way.
        assert waiting_for_the_lock(conn) == 1
    for thread in threads:
        thread.join(10)
    assert committer.writes - writes == 2
    return outcomes


def _context(app, incident) -> Context:
    return Context(actor=Actor(incident.manager), at=datetime.now(UTC), process=app.incidents.process_of(incident))


def _changed(app, incident):
    incident.change_severity(2 if incident.severity == 1 else 1, "flapping", [], _context(app, incident))
    return incident


def _stored_versions(app, incident_id) -> list[int]:
    return [e.originator_version for e in app.recorder.select_events(incident_id)]


def _intact(app, incidents) -> None:
    for incident in incidents:
        verdict = integrity.check(app, str(incident.id))
        assert verdict.intact and verdict.events == len(_stored_versions(app, incident.id)), incident.id


async def test_saves_queued_behind_a_write_land_in_one_transaction_each_with_its_own_ids(database_url):
    async with event_store(database_url) as (app, admin):
        incidents = [app.incidents.declare(f"incident {n}", "", "servers", 1, None, admin) for n in range(SAVES)]
        before = {i.id: _stored_versions(app, i.id) for i in incidents}
        outcomes = await asyncio.to_thread(
            saved_as_a_group,
            database_url,
            app,
            [lambda incident=incident: app.save(_changed(app, incident)) for incident in incidents],
        )

        ids = []
        for incident, recordings in zip(incidents, outcomes, strict=True):
            assert isinstance(recordings, list) and len(recordings) == 1, recordings
            recording = recordings[0]
            assert recording.notification.originator_id == incident.id
            assert recording.notification.originator_version == before[incident.id][-1] + 1
            ids.append(recording.notification.id)
            assert _stored_versions(app, incident.id) == [*before[incident.id], before[incident.id][-1] + 1]
        assert len(set(ids)) == SAVES
        # Each id names the very event its save stored.
        by_id = {n.id: n for n in app.recorder.select_notifications(start=min(ids), limit=100)}
        for incident, notification_id in zip(incidents, ids, strict=True):
            assert by_id[notification_id].originator_id == incident.id
        _intact(app, incidents)


async def test_a_stale_save_in_a_group_is_refused_alone_while_the_others_commit(database_url):
    async with event_store(database_url) as (app, admin):
        incidents = [app.incidents.declare(f"incident {n}", "", "servers", 1, None, admin) for n in range(SAVES)]
        stale = app.repository.get(incidents[5].id)  # a copy, about to fall behind
        app.save(_changed(app, incidents[5]))
        stored_before = _stored_versions(app, stale.id)
        saves = [lambda incident=incident: app.save(_changed(app, incident)) for incident in incidents]
        saves[5] = lambda: app.save(_changed(app, stale))

        outcomes = await asyncio.to_thread(saved_as_a_group, database_url, app, saves)

        assert isinstance(outcomes[5], IntegrityError)
        assert _stored_versions(app, stale.id) == stored_before  # nothing of the stale save stored
        assert app.repository.get(stale.id).severity == incidents[5].severity  # the first change stands
        for n, incident in enumerate(incidents):
            if n != 5:
                assert isinstance(outcomes[n], list), outcomes[n]
                assert app.repository.get(incident.id).version == incident.version
        _intact(app, incidents)


def _answer(caller: bytes, key: str) -> object:
    return Claim(caller, key, b"fingerprint").answer(201, {"content-type": "application/json"}, b'{"ok": true}')


def _recorded(database_url: str, caller: bytes) -> dict[str, int]:
    with psycopg.connect(_plain(database_url)) as conn:
        rows = conn.execute("SELECT key, status FROM incident.idempotency_keys WHERE caller = %s", (caller,)).fetchall()
    return {key: status for key, status in rows}


async def test_an_answered_key_in_a_group_raises_answered_for_that_save_only(database_url):
    caller = uuid.uuid4().bytes
    async with event_store(database_url) as (app, admin):
        incidents = [app.incidents.declare(f"incident {n}", "", "servers", 1, None, admin) for n in range(SAVES)]
        first = _answer(caller, "key-3")
        app.save(_changed(app, incidents[3]), answer=first)  # answered: its reply was lost, say
        assert first.claim.answered
        stored_before = _stored_versions(app, incidents[3].id)
        again = _answer(caller, "key-3")
        answers = {n: _answer(caller, f"key-{n}") for n in range(SAVES) if n % 2 == 1 and n != 3}
        saves = [
            lambda n=n, incident=incident: (
                app.save(_changed(app, incident), answer=answers.get(n))
                if n in answers
                else app.save(_changed(app, incident))
            )
            for n, incident in enumerate(incidents)
        ]
        saves[3] = lambda: app.save(_changed(app, app.repository.get(incidents[3].id)), answer=again)

        outcomes = await asyncio.to_thread(saved_as_a_group, database_url, app, saves)

        assert isinstance(outcomes[3], Answered) and not again.claim.answered
        assert _stored_versions(app, incidents[3].id) == stored_before
        for n in range(SAVES):
            if n != 3:
                assert isinstance(outcomes[n], list) and len(outcomes[n]) == 1, outcomes[n]
        assert all(answer.claim.answered for answer in answers.values())
        assert _recorded(database_url, caller) == {"key-3": 201, **{f"key-{n}": 201 for n in answers}}
        _intact(app, incidents)


async def test_the_relay_publishes_groups_in_notification_id_order(database_url, nats_url):
    # A thread for each command at once (a replica runs 8 by default: its groups are at most that).
    async with incident_service(database_url, nats_url, command_threads=SAVES) as (client, service):
        app = service.state.application
        # Each incident its own manager: commands of one manager would take turns on their tenure (turns.py).
        managers = [await register(client, f"Manager{n}") for n in range(SAVES)]
        await client.put("/v1/directory/aspects/servers", json={"smes": [managers[0][0]]})
        ids, tokens = [], {}
        for n, (person, token) in enumerate(managers):
            response = await client.post(
                "/v1/incidents",
                json={"title": f"incident {n}", "aspect": "servers", "severity": 2, "manager": person},
                headers=auth(token),
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
            tokens[ids[-1]] = token
        writes = app.recorder.group_commit.writes

        def severity(incident_id: str):
            return client.post(
                f"/v1/incidents/{incident_id}/severity",
                json={"level": 1, "reason": "worse"},
                headers=auth(tokens[incident_id]),
            )

        with table_locked(database_url, app.recorder):
            requests = [asyncio.ensure_future(severity(incident_id)) for incident_id in ids]
            await eventually(lambda: app.recorder.group_commit.queued() == SAVES - 1, timeout=3)
        answers = await asyncio.gather(*requests)
        assert [a.status_code for a in answers] == [200] * SAVES, [a.text for a in answers]
        assert app.recorder.group_commit.writes - writes == 2

        stored = [n.id for n in app.recorder.select_notifications(start=1, limit=10_000) if str(n.originator_id) in ids]

        async def published():
            events = [e for e in await stream_events(nats_url, "WARROOM_INCIDENT") if e.subject in ids]
            return events if len(events) >= len(stored) else None

        events = await eventually(published)
    positions = [e.position for e in events]
    assert positions == stored  # every incident event stored, once, in notification-id order
    for incident_id in ids:
        sequences = [e.sequence for e in events if e.subject == incident_id]
        assert sequences == list(range(1, len(sequences) + 1))
