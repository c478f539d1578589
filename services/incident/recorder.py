"""The event store's writer: saves that arrive together are written in one transaction, its table lock
held only inside the server.

eventsourcing's PostgreSQL recorder takes ``LOCK TABLE … IN EXCLUSIVE MODE`` so that
notification ids commit in id order (the relay reads by id and must never pass over one that
commits later). It sends the lock, the insert and the commit as separate steps from Python, so the
lock stays held while the writing thread waits for its turn at the interpreter — under load that
serialised every command behind the slowest thread. The library's one-statement alternative
(``POSTGRES_ENABLE_DB_FUNCTIONS``) skips the lock, which would break the relay. This recorder
calls a function of its own that takes the same lock, notifies and inserts: one round trip, an
autocommitted statement, the lock released at its commit.

A save with an ``Answer`` (a keyed request, shared/idempotency.py) calls a second function that first
writes the Idempotency-Key's row with that answer, in the same statement and so the same commit as the
events (F10): a crash after the commit leaves a retry the answer to replay. A key answered already (a
lost reply, or this very insert retried after its commit outlived the connection) stores nothing and
raises ``Answered``: the caller replays the recorded answer instead of running the command twice.

Group commit (group_commit.py). Every save still takes the lock, so saves of different incidents
queue for it one commit (and one WAL flush) at a time. Instead, a save that finds another being
written queues in Python; the next write takes every save queued meanwhile (at most ``GROUP_MOST``)
and writes them with a third function in ONE statement, one transaction: the lock and the NOTIFY
once, then each save — its key's row as above, then its events — in a block of its own (a
subtransaction, ``BEGIN … EXCEPTION``). A save refused there (a stale expected version: the unique
(originator_id, originator_version); a key answered already) is undone alone and reported alone, as
the error a save alone would have raised (``refusal``), and the others commit. Each caller gets its
ids, its ``IntegrityError`` or its ``Answered`` only after the commit. A save alone in the queue is
written at once with the functions above, as before: nothing waits for company. Notification ids stay
in commit order: the ids of a group are taken under the lock, in the order of its saves, and become
visible at once, at its commit. Each incident's ``chainhash`` chain is the event store's
(chained_events.py): one replica never has two saves of one incident in flight (turns.py), so a group
holds at most one save per incident from here; a second one, or another replica's, at the same
version is the unique violation above, refused alone and run again (incidents.py).

A write that fails with ``InterfaceError`` or ``OperationalError`` (the connection lost, the lock
waited for too long) is sent again, the whole group, as a save alone always was. When the first
attempt did commit (its outcome unknown to us: the connection broke after the commit), the second
attempt cannot store anything twice: every keyed save finds its key answered and gets ``Answered``
(its recorded answer is replayed), and every other save meets its own events already at their
versions and gets ``IntegrityError`` — the caller reads the aggregate again, exactly what a retried
save alone meets. When the first attempt did not commit, nothing of it is left, and the second
writes the group as if it were the first.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from prometheus_client import Histogram
from psycopg.sql import SQL, Identifier, Literal
from psycopg.types.json import Jsonb

from services.incident.group_commit import GroupCommit
from shared.idempotency import KEPT_FOR, Answer, Answered

# The most saves one transaction takes: a bound on the time the others of the group wait for their answer.
GROUP_MOST = 64
SAVE = Histogram(
    "warroom_event_store_save_seconds",
    "A save's time from its submission to its commit: waiting for the write before it, then its group's",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class LockedInsertRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        function = Identifier(f"warroom_insert_events_{self.datastore.originator_id_type}")
        self.sql_insert_locked = SQL("SELECT notification_id FROM {schema}.{function}((%s)) AS notification_id").format(
            schema=schema, function=function
        )
        # In place of the library's lock-less function, created with the table at start-up.
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "    SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "    LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "    NOTIFY {channel}; "
            "    RETURN QUERY "
            "    INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state) "
            "    SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "    RETURNING notification_id; "
            "END; $BODY$"
        ).format(
            schema=schema,
            function=function,
            event=Identifier(self.stored_event_type_name),
            table=Identifier(self.events_table_name),
            channel=Identifier(self.channel_name),
            lock_timeout=self.datastore.lock_timeout,
        )
        answered = Identifier(f"warroom_insert_answered_events_{self.datastore.originator_id_type}")
        self.sql_insert_answered = SQL(
            "SELECT notification_id FROM {schema}.{function}((%s), %s::bytea, %s::text, %s::bytea, %s::smallint, "
            "%s::jsonb, %s::bytea) AS notification_id"
        ).format(schema=schema, function=answered)
        # The key's row first: a key answered already stores nothing, without waiting for the table lock.
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{answered}(events {schema}.{event}[], _caller bytea, _key text, "
                "_fingerprint bytea, _status smallint, _headers jsonb, _body bytea) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "    INSERT INTO {schema}.idempotency_keys AS k "
                "        (caller, key, fingerprint, status, headers, body, expires_at) "
                "    VALUES (_caller, _key, _fingerprint, _status, _headers, _body, now() + interval {kept_for}) "
                "    ON CONFLICT (caller, key) DO UPDATE "
                "        SET fingerprint = excluded.fingerprint, status = excluded.status, headers = excluded.headers, "
                "            body = excluded.body, expires_at = excluded.expires_at "
                "        WHERE k.expires_at <= now() OR k.status IS NULL; "
                "    IF NOT FOUND THEN RETURN; END IF; "
                "    RETURN QUERY SELECT * FROM {schema}.{function}(events); "
                "END; $BODY$"
            ).format(
                schema=schema,
                answered=answered,
                function=function,
                event=Identifier(self.stored_event_type_name),
                kept_for=Literal(KEPT_FOR),
            )
        )

        group = Identifier(f"warroom_insert_group_{self.datastore.originator_id_type}")
        self.sql_insert_group = SQL(
            "SELECT submission, ids, answered, refusal, reason FROM {schema}.{group}((%s), %s::int[], %s::bytea[], "
            "%s::text[], %s::bytea[], %s::smallint[], %s::jsonb[], %s::bytea[])"
        ).format(schema=schema, group=group)
        # Several saves in one transaction: the lock and the notification once, then each save (its key's
        # row first, as above) in a block of its own, so that one refused is undone and reported alone.
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{group}(events {schema}.{event}[], ends int[], "
                "_callers bytea[], _keys text[], _fingerprints bytea[], _statuses smallint[], _headers jsonb[], "
                "_bodies bytea[]) "
                "RETURNS TABLE (submission int, ids bigint[], answered boolean, refusal text, reason text) "
                "LANGUAGE plpgsql AS $BODY$ "
                "#variable_conflict use_column\n"
                "DECLARE lo int := 1; "
                "BEGIN "
                "    SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "    LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "    NOTIFY {channel}; "
                "    FOR i IN 1 .. coalesce(array_length(ends, 1), 0) LOOP "
                "        submission := i - 1; ids := NULL; answered := false; refusal := NULL; reason := NULL; "
                "        BEGIN "
                "            IF _callers[i] IS NOT NULL THEN "
                "                INSERT INTO {schema}.idempotency_keys AS k "
                "                    (caller, key, fingerprint, status, headers, body, expires_at) "
                "                VALUES (_callers[i], _keys[i], _fingerprints[i], _statuses[i], _headers[i], "
                "                    _bodies[i], now() + interval {kept_for}) "
                "                ON CONFLICT (caller, key) DO UPDATE "
                "                    SET fingerprint = excluded.fingerprint, status = excluded.status, "
                "                        headers = excluded.headers, body = excluded.body, "
                "                        expires_at = excluded.expires_at "
                "                    WHERE k.expires_at <= now() OR k.status IS NULL; "
                "                answered := NOT FOUND; "
                "            END IF; "
                "            IF NOT answered THEN "
                "                WITH stored AS ( "
                "                    INSERT INTO {schema}.{table} AS t "
                "                        (originator_id, originator_version, topic, state) "
                "                    SELECT originator_id, originator_version, topic, state "
                "                    FROM unnest(events[lo:ends[i]]) "
                "                    RETURNING t.notification_id) "
                "                SELECT array_agg(stored.notification_id ORDER BY stored.notification_id) INTO ids "
                "                FROM stored; "
                "            END IF; "
                "        EXCEPTION WHEN OTHERS THEN "
                "            refusal := SQLSTATE; reason := SQLERRM; "
                "        END; "
                "        lo := ends[i] + 1; "
                "        RETURN NEXT; "
                "    END LOOP; "
                "END; $BODY$"
            ).format(
                schema=schema,
                group=group,
                event=Identifier(self.stored_event_type_name),
                table=Identifier(self.events_table_name),
                channel=Identifier(self.channel_name),
                lock_timeout=self.datastore.lock_timeout,
                kept_for=Literal(KEPT_FOR),
            )
        )
        self.group_commit: GroupCommit[Save, Sequence[int]] = GroupCommit(self._write, most=GROUP_MOST)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], *, answer: Answer | None = None, **kwargs: Any
    ) -> Sequence[int] | None:
        events = [
            self.construct_pg_stored_event(
                originator_id=e.originator_id, originator_version=e.originator_version, topic=e.topic, state=e.state
            )
            for e in stored_events
        ]
        with SAVE.time():
            ids = self.group_commit.submit(Save(events, answer))
        if answer is not None:
            answer.claim.answered = True
        return ids

    def _write(self, saves: list["Save"]) -> list[Sequence[int] | Exception]:
        """One write of the group commit: a save alone as before, several in one transaction."""
        if len(saves) == 1:  # what it raises is that save's (group_commit.py)
            return [self._insert_one(saves[0])]
        return self._insert_group(saves)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_one(self, save: "Save") -> Sequence[int]:
        events, answer = save.events, save.answer
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            if answer is None:
                curs.execute(self.sql_insert_locked, (events,), prepare=True)
            else:
                claim = answer.claim
                curs.execute(
                    self.sql_insert_answered,
                    (
                        events,
                        claim.caller,
                        claim.key,
                        claim.fingerprint,
                        answer.status,
                        Jsonb(answer.headers),
                        answer.body,
                    ),
                    prepare=True,
                )
            ids = [row["notification_id"] for row in curs.fetchall()]
        if answer is not None and events and not ids:
            raise Answered(answer.claim.key)
        return ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_group(self, saves: list["Save"]) -> list[Sequence[int] | Exception]:
        events, ends = [], []
        for save in saves:
            events.extend(save.events)
            ends.append(len(events))
        answers = [save.answer for save in saves]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.sql_insert_group,
                (
                    events,
                    ends,
                    [a.claim.caller if a else None for a in answers],
                    [a.claim.key if a else None for a in answers],
                    [a.claim.fingerprint if a else None for a in answers],
                    [a.status if a else None for a in answers],
                    [Jsonb(a.headers) if a else None for a in answers],
                    [a.body if a else None for a in answers],
                ),
                prepare=True,
            )
            rows = curs.fetchall()
        outcomes: list[Sequence[int] | Exception] = []
        for save, row in zip(saves, sorted(rows, key=lambda r: r["submission"]), strict=True):
            if row["refusal"] is not None:
                outcomes.append(refusal(row["refusal"], row["reason"]))
            elif row["answered"]:
                outcomes.append(Answered(save.answer.claim.key) if save.answer and save.events else [])
            else:
                outcomes.append(row["ids"] or [])
        return outcomes


@dataclass
class Save:
    """One save submitted to the group commit: its events, and a keyed request's answer to record with them."""

    events: list[Any]
    answer: Answer | None


def refusal(sqlstate: str, reason: str) -> PersistenceError:
    """A save refused inside a group, as the library reports the same error of a save alone (its connection
    translates psycopg's errors): a stale expected version is an IntegrityError, and so on."""
    try:
        error = psycopg.errors.lookup(sqlstate)
    except KeyError:  # a code this psycopg does not know
        return DatabaseError(f"{reason} (SQLSTATE {sqlstate})")
    for theirs, ours in TRANSLATED:
        if issubclass(error, theirs):
            return ours(f"{reason} (SQLSTATE {sqlstate}, refused within a group commit)")
    return DatabaseError(f"{reason} (SQLSTATE {sqlstate})")


# As eventsourcing.postgres translates psycopg's errors, most specific first.
TRANSLATED: list[tuple[type[Exception], type[PersistenceError]]] = [
    (psycopg.IntegrityError, IntegrityError),
    (psycopg.DataError, DataError),
    (psycopg.InternalError, InternalError),
    (psycopg.ProgrammingError, ProgrammingError),
    (psycopg.NotSupportedError, NotSupportedError),
    (psycopg.OperationalError, OperationalError),
]
