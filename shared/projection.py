"""A consuming service's projection of the organisation: people, token hashes, process, directory.

Every downstream service applies these from the incident stream into its own schema, and
authenticates requests and reads contact data and the process from there — never by
calling the incident service.
"""

import hashlib
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from shared.contract import Envelope

REGISTERED, UPDATED = "warroom.person.registered.v1", "warroom.person.updated.v1"
# What changes a person's contact data or hours: a service keeping a copy of either forgets it.
PERSON_CHANGED = frozenset({REGISTERED, UPDATED})


def token_hash(token: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough to make the stored value useless.
    return hashlib.sha256(token.encode()).hexdigest()


async def apply(conn: asyncpg.Connection, event: Envelope) -> bool:
    """Apply an organisation event; returns False for any other type."""
    data = event.data
    match event.type:
        case "warroom.person.registered.v1" | "warroom.person.updated.v1":
            # The whole person either way (an edit replaces what was registered); who edited is not the person.
            await conn.execute(
                "INSERT INTO people (id, data, admin) VALUES ($1, $2, $3) "
                "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, admin = EXCLUDED.admin",
                data["id"],
                {key: value for key, value in data.items() if key != "by"},
                data.get("admin", False),
            )
        case "warroom.person.deactivated.v1":
            # Out of their groups (no group's notice reaches them); their tokens' revocations follow as events.
            await conn.execute(
                "UPDATE people SET active = false, data = jsonb_set(data, '{groups}', '[]') WHERE id = $1", data["id"]
            )
        case "warroom.person.activated.v1":
            await conn.execute("UPDATE people SET active = true WHERE id = $1", data["id"])
        case "warroom.token.issued.v1":
            await conn.execute(
                "INSERT INTO tokens (id, person_id, token_hash, expires_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash, revoked = false, "
                "expires_at = EXCLUDED.expires_at",
                data["id"],
                data["person_id"],
                data["token_hash"],
                _moment(data.get("expires_at")),
            )
        case "warroom.token.revoked.v1":
            await conn.execute("UPDATE tokens SET revoked = true WHERE id = $1", data["id"])
        case "warroom.token.expiry_set.v1":
            await conn.execute(
                "UPDATE tokens SET expires_at = $2 WHERE id = $1", data["id"], _moment(data["expires_at"])
            )
        case "warroom.process.published.v1":
            await conn.execute(
                "INSERT INTO process_versions (version, document) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                data["version"],
                data["document"],
            )
        case "warroom.directory.aspect_set.v1":
            await conn.execute(
                "INSERT INTO aspects (aspect, smes) VALUES ($1, $2) "
                "ON CONFLICT (aspect) DO UPDATE SET smes = EXCLUDED.smes",
                data["aspect"],
                data["smes"],
            )
        case _:
            return False
    return True


# Where a query may run: a connection, or the pool (which lends one for the statement).
Queryable: TypeAlias = asyncpg.Connection | asyncpg.Pool


def _moment(value: Any) -> datetime | None:
    """An event's moment as its JSON carries it (ISO 8601), for a timestamptz column."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def authenticate(conn: Queryable, token: str) -> dict[str, Any] | None:
    """The person a bearer token belongs to (their data plus ``admin``), or None: an unknown, revoked or
    expired token, or a deactivated person's, authenticates nowhere."""
    row = await conn.fetchrow(
        "SELECT p.data, p.admin FROM tokens t JOIN people p ON p.id = t.person_id "
        "WHERE t.token_hash = $1 AND NOT t.revoked AND p.active "
        "AND (t.expires_at IS NULL OR t.expires_at > clock_timestamp())",
        token_hash(token),
    )
    return None if row is None else {**row["data"], "admin": row["admin"]}


async def person(conn: Queryable, person_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT data FROM people WHERE id = $1", person_id)
    return None if row is None else row["data"]


async def people(conn: Queryable, person_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``person`` for many: each one projected, by id (those not projected are left out)."""
    rows = await conn.fetch("SELECT id, data FROM people WHERE id = ANY($1::text[])", person_ids)
    return {row["id"]: row["data"] for row in rows}


async def process(conn: Queryable, version: int | None = None) -> dict[str, Any] | None:
    if version is None:
        row = await conn.fetchrow("SELECT document FROM process_versions ORDER BY version DESC LIMIT 1")
    else:
        row = await conn.fetchrow("SELECT document FROM process_versions WHERE version = $1", version)
    return None if row is None else row["document"]
