"""The event store's writer (services/incident/recorder.py): saves from many threads at once take
notification ids in the order they commit, so a reader following the ids, as the relay does,
never passes over one that becomes visible later."""

import threading
from datetime import UTC, datetime

from services.incident.domain import Context
from services.incident.policy import Actor
from tests.support.incident import event_store

WRITERS, SAVES = 6, 40


async def test_concurrent_saves_become_visible_in_notification_id_order(database_url):
    async with event_store(database_url) as (app, admin):
        incidents = [app.incidents.declare(f"incident {n}", "", "servers", 1, None, admin) for n in range(WRITERS)]
        start = app.recorder.max_notification_id()
        done, passed_over, seen = threading.Event(), [], []

        def write(incident) -> None:
            ctx = Context(
                actor=Actor(incident.manager), at=datetime.now(UTC), process=app.incidents.process_of(incident)
            )
            for _ in range(SAVES):
                incident.change_severity(2 if incident.severity == 1 else 1, "flapping", [], ctx)
                app.save(incident)

        def follow() -> None:
            """Reads on from the highest id seen, like the relay; an id below it appearing later was passed over."""
            position = start
            while True:
                finished = done.is_set()
                visible = app.recorder.select_notifications(start=start + 1, limit=10_000)
                ids = [n.id for n in visible]
                passed_over.extend(i for i in ids if i <= position and i not in seen)
                seen.extend(i for i in ids if i > position)
                position = max([position, *ids])
                if finished:
                    return

        reader = threading.Thread(target=follow)
        reader.start()
        writers = [threading.Thread(target=write, args=(incident,)) for incident in incidents]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        done.set()
        reader.join()

    assert passed_over == []
    assert len(seen) == WRITERS * SAVES and seen == sorted(seen)
