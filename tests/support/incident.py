"""Helpers to run the incident service in-process against the test's PostgreSQL and NATS."""

import asyncio
import time
from contextlib import asynccontextmanager

import httpx

from shared.settings import Settings
from tests.support import builders

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"

PERSON = {
    "name": "Ada",
    "email": "ada@example.com",
    "timezone": "Europe/London",
    "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
}


def settings(database_url: str, nats_url: str, **overrides) -> Settings:
    return builders.settings(
        Settings,
        database_url,
        nats_url,
        admin_token=ADMIN_TOKEN,
        poll_interval=0.2,
        webhook_allowlist="127.0.0.0/8",
        **overrides,
    )


@asynccontextmanager
async def incident_service(database_url: str, nats_url: str, **overrides):
    from services.incident.bootstrap import create_app

    app = create_app(settings(database_url, nats_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://incident") as client:
            client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            yield client, app


async def register(client: httpx.AsyncClient, name: str, **fields) -> tuple[str, str]:
    """Register a person and issue them a token: (person id, token)."""
    body = {**PERSON, "name": name, "email": f"{name.lower()}@example.com", **fields}
    response = await client.post("/v1/people", json=body)
    assert response.status_code == 201, response.text
    person = response.json()["id"]
    response = await client.post("/v1/tokens", json={"person_id": person})
    assert response.status_code == 201, response.text
    return person, response.json()["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``check`` (sync or async) until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@asynccontextmanager
async def event_store(database_url: str):
    """The incident application on the test's PostgreSQL, without HTTP: (app, admin actor), with
    the admin as the only SME of "servers" (so the admin manages what it declares), and the
    idempotency keys' table that keyed saves write to."""
    from services.incident.application import IncidentApplication
    from services.incident.store_env import SCHEMA, event_store_env
    from shared import db

    pool = await db.create_pool(database_url, SCHEMA)
    common = [m for m in db.migration_files("shared") if "http" in m[0]]
    await db.migrate(pool, SCHEMA, common + db.migration_files("services.incident"))
    await pool.close()
    app = IncidentApplication(event_store_env(database_url))
    try:
        app.people.ensure_admin(ADMIN_TOKEN)
        admin = app.people.authenticate(ADMIN_TOKEN)
        app.organisation.set_aspect("servers", [admin.person_id], admin)
        yield app, admin
    finally:
        app.close()
