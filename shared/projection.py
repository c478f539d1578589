"""A consuming service's projection of the organisation: people, token hashes, process, directory.

Every downstream service applies these from the incident stream into its own schema, and
authenticates requests and reads contact data and the process from there — never by
calling the incident service.
"""

import hashlib
from typing import Any, TypeAlias

import asyncpg

from shared.contract import Envelope


def token_hash(token: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough to make the stored value useless.
    return hashlib.sha256(token.encode()).hexdigest()


async def apply(conn: asyncpg.Connection, event: Envelope) -> bool:
    """Apply an organisation event; returns False for any other type."""
    data = event.data
    match event.type:
        case "warroom.person.registered.v1":
            await conn.execute(
                "INSERT INTO people (id, data, admin) VALUES ($1, $2, $3) "
                "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, admin = EXCLUDED.admin",
                data["id"],
                data,
                data.get("admin", False),
            )
        case "warroom.token.issued.v1":
            await conn.execute(
                "INSERT INTO tokens (id, person_id, token_hash) VALUES ($1, $2, $3) "
                "ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash, revoked = false",
                data["id"],
                data["person_id"],
                data["token_hash"],
            )
        case "warroom.token.revoked.v1":
            await conn.execute("UPDATE tokens SET revoked = true WHERE id = $1", data["id"])
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


async def authenticate(conn: Queryable, token: str) -> dict[str, Any] | None:
    """The person a bearer token belongs to (their data plus ``admin``), or None."""
    row = await conn.fetchrow(
        "SELECT p.data, p.admin FROM tokens t JOIN people p ON p.id = t.person_id "
        "WHERE t.token_hash = $1 AND NOT t.revoked",
        token_hash(token),
    )
    return None if row is None else {**row["data"], "admin": row["admin"]}


async def person(conn: Queryable, person_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT data FROM people WHERE id = $1", person_id)
    return None if row is None else row["data"]


async def process(conn: Queryable, version: int | None = None) -> dict[str, Any] | None:
    if version is None:
        row = await conn.fetchrow("SELECT document FROM process_versions ORDER BY version DESC LIMIT 1")
    else:
        row = await conn.fetchrow("SELECT document FROM process_versions WHERE version = $1", version)
    return None if row is None else row["document"]
