"""The event store's writer: each save in one statement, its table lock held only inside the server.

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
"""

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier, Literal
from psycopg.types.json import Jsonb

from shared.idempotency import KEPT_FOR, Answer, Answered


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

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], *, answer: Answer | None = None, **kwargs: Any
    ) -> Sequence[int] | None:
        events = [
            self.construct_pg_stored_event(
                originator_id=e.originator_id, originator_version=e.originator_version, topic=e.topic, state=e.state
            )
            for e in stored_events
        ]
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
        if answer is not None:
            if events and not ids:
                raise Answered(claim.key)
            claim.answered = True
        return ids
