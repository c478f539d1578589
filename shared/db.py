"""PostgreSQL plumbing: an asyncpg pool per service schema and ordered SQL migrations.

Fail fast when PostgreSQL is gone: every pool bounds how long a connection attempt, a wait for a
pooled connection and a statement may take (``Timeouts``), so a request meets an outage with a
quick 503 and ``Retry-After`` rather than hanging, and the pool reconnects by itself afterwards.
"""

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol, cast

import asyncpg
from asyncpg.pool import PoolAcquireContext

from shared import jsontext
from shared.settings import Settings

if TYPE_CHECKING:  # only the incident service's event store has a psycopg pool to import
    from psycopg_pool import ConnectionPool

MIGRATIONS_LOCK = 7_431_001  # advisory lock: replicas starting together migrate one at a time
# Schema changes and waiting for another replica's migrations are not requests: no statement time-out.
MIGRATION_TIMEOUT = 600.0


class Unavailable(ConnectionError):
    """PostgreSQL cannot be reached now (a connection could not be had in time): answered 503."""


# asyncpg's "PostgreSQL is not there right now": refused, dropped, shutting down (57P0x), a pooled
# connection caught between the server's "terminating" notice and the socket closing, and a
# time-out (connecting, waiting for a pooled connection, or a statement). ``Unavailable`` is an OSError.
UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InternalClientError,
)


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``None`` waits for ever (tools and tests that make their own pools)."""

    connect: float | None = None
    acquire: float | None = None
    statement: float | None = None

    @classmethod
    def of(cls, settings: Settings) -> "Timeouts":
        return cls(settings.db_connect_timeout, settings.db_acquire_timeout, settings.db_statement_timeout)


# asyncpg ships no type information, so its Pool is Any to mypy.
class Pool(asyncpg.Pool):  # type: ignore[misc]
    """asyncpg's pool with a default time-out on ``acquire`` (and so on ``pool.fetch`` and friends)."""

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=jsontext.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    database_url: str, schema: str, *, min_size: int = 1, max_size: int = 10, timeouts: Timeouts = Timeouts()
) -> asyncpg.Pool:
    options = {} if timeouts.connect is None else {"timeout": timeouts.connect}
    pool = Pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        init=_init_connection,
        command_timeout=timeouts.statement,
        server_settings={"search_path": f"{schema},public", "application_name": f"warroom-{schema}"},
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        **options,
    )
    pool.acquire_timeout = timeouts.acquire
    return await pool


class _Checkout(Protocol):
    """A psycopg pool's checkout and return, as attributes ``fail_fast`` replaces on one pool."""

    getconn: Callable[[float | None], Any]
    putconn: Callable[[Any], None]


def fail_fast(pool: "ConnectionPool[Any]", timeouts: Timeouts, *, rest: float = 1.0) -> None:
    """The same bounds for a psycopg pool (the incident service's event store).

    A connection attempt gets ``connect`` seconds and a wait for a pooled connection ``acquire``;
    a wait that times out raises ``Unavailable``, and so does every request for the next ``rest``
    seconds without waiting again — a caller that retries on psycopg's own errors (the event store
    retries ten times) then stops at once instead of waiting ten times over. A connection found
    broken makes the pool check its idle ones, so the next request does not pick another dead one.
    """
    # The connection options are a dict (eventsourcing's); a callable would make them anew each time.
    if timeouts.connect is not None and isinstance(pool.kwargs, dict):
        pool.kwargs["connect_timeout"] = max(1, round(timeouts.connect))
    getconn, putconn = pool.getconn, pool.putconn
    down_until = 0.0
    checking = threading.Lock()

    def guarded_getconn(timeout: float | None = None) -> Any:
        nonlocal down_until
        if time.monotonic() < down_until:
            raise Unavailable("PostgreSQL was unreachable a moment ago; not waiting again yet")
        wait = timeouts.acquire if timeout is None else min(timeout, timeouts.acquire or timeout)
        try:
            return getconn(timeout=wait)
        except Exception as exc:
            if type(exc).__name__ != "PoolTimeout":
                raise
            down_until = time.monotonic() + rest
            raise Unavailable(f"no PostgreSQL connection within {wait} s") from exc

    def checked_putconn(conn: Any) -> None:
        broken = conn.broken or conn.closed
        putconn(conn)
        if broken and checking.acquire(blocking=False):
            try:
                pool.check()
            finally:
                checking.release()

    checkout = cast(_Checkout, pool)
    checkout.getconn, checkout.putconn = guarded_getconn, checked_putconn


def migration_files(package: str) -> list[tuple[str, str]]:
    """(name, sql) of ``<package>/migrations/*.sql`` in name order (001_…, 002_…)."""
    folder = resources.files(package) / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name, p.read_text()) for p in files]


async def migrate(pool: asyncpg.Pool, schema: str, migrations: list[tuple[str, str]]) -> list[str]:
    """Apply the migrations not yet applied to ``schema``; returns the names applied now."""
    applied_now: list[str] = []
    async with migrations_locked(pool) as conn:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"', timeout=MIGRATION_TIMEOUT)
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations '
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            timeout=MIGRATION_TIMEOUT,
        )
        done = {r["name"] for r in await conn.fetch(f'SELECT name FROM "{schema}".schema_migrations')}
        for name, sql in migrations:
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
                await conn.execute(sql, timeout=MIGRATION_TIMEOUT)
                await conn.execute(f'INSERT INTO "{schema}".schema_migrations (name) VALUES ($1)', name)
            applied_now.append(name)
    return applied_now


@asynccontextmanager
async def migrations_locked(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """Holds the schema-changing lock, so replicas starting together create tables one at a time.

    CREATE TABLE IF NOT EXISTS is not safe under concurrency: two sessions can both pass the check
    and the second fails on the catalogue's unique index.
    """
    async with pool.acquire(timeout=MIGRATION_TIMEOUT) as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK, timeout=MIGRATION_TIMEOUT)
        try:
            yield conn
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATIONS_LOCK)


def service_migrations(package: str) -> list[tuple[str, str]]:
    """The shared tables (processed events, ordering, parking, outbox, identity) then the service's own."""
    return migration_files("shared") + migration_files(package)
