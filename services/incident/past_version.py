"""Which version of an aggregate stood at a past moment: the last one stored at or before it.

A binary search over the versions, by each event's timestamp (an aggregate's events are stamped in the
order they are stored). Asked of the store one step at a time that is a round trip per step — 17 for an
incident of 100,000 events, each waiting its turn on a busy machine — so the whole search runs inside
PostgreSQL, one statement: a recursive query whose every step reads one event by its primary key and its
``timestamp`` from the stored JSON. That JSON is the library's, uncompressed and unencrypted, as this
service stores it (store_env.event_store_env); should an event not read so, the search runs again here,
one event at a time, through the application's mapper.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DataError, ProgrammingError
from psycopg.sql import SQL, Identifier

# ``low``..``high``: the versions still in question; ``found``: the last one known to be at or before the moment.
# A step whose event is missing or not stamped (not the library's JSON) ends the search without a verdict.
_SEARCH = """
WITH RECURSIVE step(low, high, found) AS (
    SELECT 1::bigint, %(last)s::bigint, NULL::bigint
  UNION ALL
    SELECT CASE WHEN t.before THEN (s.low + s.high) / 2 + 1 ELSE s.low END,
           CASE WHEN t.before THEN s.high ELSE (s.low + s.high) / 2 - 1 END,
           CASE WHEN t.before THEN (s.low + s.high) / 2 ELSE s.found END
    FROM step s
    CROSS JOIN LATERAL (
        SELECT (convert_from(e.state, 'UTF8')::jsonb #>> '{{timestamp,_data_}}')::timestamptz <= %(moment)s AS before
        FROM {schema}.{table} e
        WHERE e.originator_id = %(id)s AND e.originator_version = (s.low + s.high) / 2
    ) t
    WHERE s.low <= s.high AND t.before IS NOT NULL
)
SELECT low > high AS decided, found FROM step ORDER BY low > high DESC, high - low LIMIT 1
"""


def version_at(store: Any, aggregate_id: UUID, last: int, moment: datetime) -> int | None:
    """The last of versions 1..``last`` of the aggregate stored at or before ``moment`` (None: none was).
    ``store``: the application (its recorder and mapper)."""
    try:
        decided, found = _searched(store.recorder, aggregate_id, last, moment)
    except (DataError, ProgrammingError):  # not the library's JSON after all; an unreachable store raises
        decided, found = False, None
    if decided:
        return found
    return _stepped(store, aggregate_id, last, moment)


def _searched(recorder: Any, aggregate_id: UUID, last: int, moment: datetime) -> tuple[bool, int | None]:
    query = SQL(_SEARCH).format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name)
    )
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(query, {"last": last, "moment": moment, "id": aggregate_id}, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return False, None
    return bool(row["decided"]), row["found"]


def _stepped(store: Any, aggregate_id: UUID, last: int, moment: datetime) -> int | None:
    """The same search, one event read (and decoded by the application's mapper) per step."""
    low, high, found = 1, last, None
    while low <= high:
        middle = (low + high) // 2
        stored = store.recorder.select_events(aggregate_id, gt=middle - 1, lte=middle, limit=1)
        if store.mapper.to_domain_event(stored[0]).timestamp <= moment:
            found, low = middle, middle + 1
        else:
            high = middle - 1
    return found
