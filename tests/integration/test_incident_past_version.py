"""R18's state as of a past moment: which version stood then, found in one statement inside PostgreSQL
(services/incident/past_version.py) — the same version the step-by-step search finds, at every moment."""

from datetime import UTC, datetime, timedelta

from services.incident import past_version
from services.incident.domain import Context
from services.incident.policy import Actor
from tests.support.incident import event_store

CHANGES = 40


async def test_r18_the_version_at_any_moment_is_found_in_one_statement_as_step_by_step(database_url):
    async with event_store(database_url) as (app, admin):
        incident = app.incidents.declare("flapping", "", "servers", 1, None, admin)
        ctx = Context(actor=Actor(incident.manager), at=datetime.now(UTC), process=app.incidents.process_of(incident))
        for n in range(CHANGES):
            incident.change_severity(2 if incident.severity == 1 else 1, "flapping", [], ctx)
            if n % 7 == 0:
                app.save(incident)  # several saves, several events each
        app.save(incident)
        stamps = [event.timestamp for event in app.events.get(incident.id)]
        assert len(stamps) == CHANGES + 1 and stamps == sorted(stamps)
        moments = [stamps[0] - timedelta(days=1), stamps[-1] + timedelta(days=1)]
        moments += [stamp + shift for stamp in stamps for shift in (timedelta(0), -timedelta(microseconds=1))]
        select, selected = app.recorder.select_events, []

        def counted(*args, **kwargs):
            selected.append(args)
            return select(*args, **kwargs)

        app.recorder.select_events = counted

        found = [past_version.version_at(app, incident.id, incident.version, moment) for moment in moments]

        assert selected == []  # no event read one by one: the search ran in PostgreSQL
        app.recorder.select_events = select
        stepped = [past_version._stepped(app, incident.id, incident.version, moment) for moment in moments]
        assert found == stepped
        assert found[:2] == [None, CHANGES + 1]
        for version, stamp in enumerate(stamps, start=1):
            assert past_version.version_at(app, incident.id, incident.version, stamp) == version
            assert past_version.version_at(app, incident.id, incident.version, stamp - timedelta(microseconds=1)) == (
                version - 1 or None
            )


async def test_r18_a_store_the_statement_cannot_read_is_searched_step_by_step(database_url, monkeypatch):
    async with event_store(database_url) as (app, admin):
        incident = app.incidents.declare("flapping", "", "servers", 1, None, admin)
        declared = next(iter(app.events.get(incident.id))).timestamp
        # As if the events were stored compressed: their state is not JSON to PostgreSQL.
        monkeypatch.setattr(past_version, "_SEARCH", "SELECT convert_from('\\xff'::bytea, 'UTF8')::jsonb")

        assert past_version.version_at(app, incident.id, 1, declared) == 1
        assert past_version.version_at(app, incident.id, 1, declared - timedelta(seconds=1)) is None
