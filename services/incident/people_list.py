"""The list of people: a projection of this service's own stream, for GET /v1/people.

Eventually consistent, like the incident list: a person registered or edited shows here once the relay
has published the event (milliseconds). ``GET /v1/people/{id}`` reads the event store itself. The
stream's consumer read the stream before this list existed, so an empty list is first filled from the
event store (``seed``); each row keeps the person's version, so nothing older overwrites it.
"""

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.incident import organisation as org
from shared.contract import Envelope

REGISTERED, UPDATED = "warroom.person.registered.v1", "warroom.person.updated.v1"
DEACTIVATED, ACTIVATED = "warroom.person.deactivated.v1", "warroom.person.activated.v1"
# How a person's registration is named in the event store (eventsourcing's topic of Person.Registered).
REGISTERED_TOPIC = f"{org.__name__}:Person.Registered"

UPSERT = (
    "INSERT INTO people_list AS l (id, version, name, email, groups, active, person) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, name = EXCLUDED.name, email = EXCLUDED.email, "
    "groups = EXCLUDED.groups, person = EXCLUDED.person, active = CASE WHEN $8 THEN EXCLUDED.active ELSE l.active END "
    "WHERE l.version < EXCLUDED.version"
)


async def apply(conn: asyncpg.Connection, event: Envelope) -> None:
    data, version = event.data, event.sequence
    if event.type in (REGISTERED, UPDATED):
        person = {key: value for key, value in data.items() if key != "by"}  # who edited is not the person
        groups = data.get("groups", [])
        await conn.execute(UPSERT, data["id"], version, data["name"], data["email"], groups, True, person, False)
    elif event.type == DEACTIVATED:
        await conn.execute(
            "UPDATE people_list SET version = $2, active = false, groups = '[]', "
            "person = jsonb_set(person, '{groups}', '[]') WHERE id = $1 AND version < $2",
            data["id"],
            version,
        )
    elif event.type == ACTIVATED:
        await conn.execute(
            "UPDATE people_list SET version = $2, active = true WHERE id = $1 AND version < $2", data["id"], version
        )


async def seed(pool: asyncpg.Pool, app: Any) -> int:
    """Fill an empty list from the event store (``app``: the IncidentApplication): once, when the list is
    new beside an existing store. How many people it wrote."""
    if await pool.fetchval("SELECT EXISTS (SELECT 1 FROM people_list)"):
        return 0
    people = await asyncio.to_thread(_stored_people, app)
    async with pool.acquire() as conn, conn.transaction():
        for person in people:
            fields = person.fields()
            row = (str(person.id), person.version, person.name, person.email, person.groups, person.active)
            await conn.execute(UPSERT, *row, {**fields, "id": str(person.id)}, True)
    return len(people)


def _stored_people(app: Any) -> list[org.Person]:
    ids, start = [], 1
    while batch := app.recorder.select_notifications(start=start, limit=1000, topics=[REGISTERED_TOPIC]):
        ids += [notification.originator_id for notification in batch]
        start = batch[-1].id + 1
    return [app.load(org.Person, person_id, "person") for person_id in ids]


@dataclass(frozen=True)
class Query:
    """``q``: a case-insensitive part of the name or email; ``group``: members only; ``after``: a cursor."""

    q: str | None = None
    group: str | None = None
    active: bool = True
    after: str | None = None
    limit: int = 50


class BadCursor(ValueError):
    """A cursor this service did not give (or a mangled one)."""


async def page(pool: asyncpg.Pool, query: Query) -> tuple[list[dict[str, Any]], str | None]:
    """One page of people in name order (each ``person`` with ``id`` and ``active``), and the cursor of the next."""
    after = _position(query.after) if query.after else None
    rows = await pool.fetch(
        "SELECT id, lower(name) AS sort_name, active, person FROM people_list "
        "WHERE active = $1 "
        "AND ($2::text IS NULL OR name ILIKE $2 ESCAPE '\\' OR email ILIKE $2 ESCAPE '\\') "
        "AND ($3::text IS NULL OR groups ? $3) "
        "AND ($4::text IS NULL OR (lower(name), id) > ($4, $5)) "
        "ORDER BY lower(name), id LIMIT $6",
        query.active,
        None if query.q is None else f"%{_literal(query.q)}%",
        query.group,
        None if after is None else after[0],
        None if after is None else after[1],
        query.limit + 1,
    )
    people = [{**row["person"], "id": row["id"], "active": row["active"]} for row in rows[: query.limit]]
    more = len(rows) > query.limit
    return people, _cursor(rows[query.limit - 1]["sort_name"], rows[query.limit - 1]["id"]) if more else None


def _literal(text: str) -> str:
    """``text`` matched as it is by ILIKE: its wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cursor(sort_name: str, person_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_name, person_id]).encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[str, str]:
    try:
        sort_name, person_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor("cursor: not one this service gave; start again without it") from exc
    if not (isinstance(sort_name, str) and isinstance(person_id, str)):
        raise BadCursor("cursor: not one this service gave; start again without it")
    return sort_name, person_id
