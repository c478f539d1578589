"""PostgreSQL plumbing: an asyncpg pool per service schema and ordered SQL migrations."""
import asyncio
import json
from contextlib import asynccontextmanager
from importlib import resources

import asyncpg

MIGRATIONS_LOCK = 7_431_001  # advisory lock: replicas starting together migrate one at a time

# asyncpg's "PostgreSQL is not there right now": refused, dropped, shutting down (57P0x), and a pooled
# connection caught between the server's "terminating" notice and the socket closing.
UNAVAILABLE = (OSError, asyncio.TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
               asyncpg.OperatorInterventionError, asyncpg.InternalClientError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(database_url: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": f"{schema},public", "application_name": f"warroom-{schema}"},
    )


def migration_files(package: str) -> list[tuple[str, str]]:
    """(name, sql) of ``<package>/migrations/*.sql`` in name order (001_…, 002_…)."""
    folder = resources.files(package) / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name, p.read_text()) for p in files]


async def migrate(pool: asyncpg.Pool, schema: str, migrations: list[tuple[str, str]]) -> list[str]:
    """Apply the migrations not yet applied to ``schema``; returns the names applied now."""
    applied_now = []
    async with migrations_locked(pool) as conn:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations '
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch(f'SELECT name FROM "{schema}".schema_migrations')}
        for name, sql in migrations:
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
                await conn.execute(sql)
                await conn.execute(f'INSERT INTO "{schema}".schema_migrations (name) VALUES ($1)', name)
            applied_now.append(name)
    return applied_now


@asynccontextmanager
async def migrations_locked(pool: asyncpg.Pool):
    """Holds the schema-changing lock, so replicas starting together create tables one at a time.

    CREATE TABLE IF NOT EXISTS is not safe under concurrency: two sessions can both pass the check
    and the second fails on the catalogue's unique index.
    """
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK)
        try:
            yield conn
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATIONS_LOCK)


def service_migrations(package: str) -> list[tuple[str, str]]:
    """The shared tables (processed events, ordering, parking, outbox, identity) then the service's own."""
    return migration_files("shared") + migration_files(package)
