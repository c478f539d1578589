"""The run's yardstick: raw asyncpg single-row INSERTs, autocommit, on one connection.

Every figure is printed beside it, so runs on noisier or quieter machines compare by ratio.
"""

from __future__ import annotations

import time

import asyncpg

SECONDS = 3.0
WARM_UP = 200


async def insert_rate(database_url: str, seconds: float = SECONDS) -> float:
    """Committed single-row INSERTs per second, each its own transaction."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, "
            "at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL)"
        )
        insert = await conn.prepare("INSERT INTO bench_baseline (payload) VALUES ($1)")
        payload = "x" * 200  # about the size of a small event
        for _ in range(WARM_UP):
            await insert.fetch(payload)
        count, started = 0, time.monotonic()
        deadline = started + seconds
        while time.monotonic() < deadline:
            await insert.fetch(payload)
            count += 1
        return count / (time.monotonic() - started)
    finally:
        await conn.close()
