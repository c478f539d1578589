"""Reading a benchmark's database from outside the services: one value, or waiting for one."""

from __future__ import annotations

import asyncio

import asyncpg


async def fetchval(database_url: str, query: str):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def wait_for(database_url: str, query: str, timeout: float, interval: float = 0.05) -> float | None:
    """Poll ``query`` until it returns true; the loop time it did, or None on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    conn = await asyncpg.connect(database_url)
    try:
        while loop.time() < deadline:
            try:
                if await conn.fetchval(query):
                    return loop.time()
            except asyncpg.UndefinedTableError:  # the service has not migrated its schema yet
                pass
            await asyncio.sleep(interval)
        return None
    finally:
        await conn.close()
