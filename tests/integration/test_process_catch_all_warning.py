"""R10 at start-up: while the process names no catch-all SME, every service says so in its log."""

import json

import asyncpg
import pytest
from structlog.testing import capture_logs

from shared.process.document import default_process
from shared.settings import Settings
from tests.support import notifier, postmortem


def _apps():
    from services.notifier.bootstrap import create_app as notifier_app
    from services.postmortem.bootstrap import create_app as postmortem_app
    from services.timers.bootstrap import create_app as timers_app

    def timers_settings(database_url: str, nats_url: str) -> Settings:
        return Settings(database_url=database_url, nats_url=nats_url, poll_interval=0.05)

    return {
        "notifier": (notifier_app, notifier.settings),
        "timers": (timers_app, timers_settings),
        "postmortem": (postmortem_app, postmortem.settings),
    }


async def _start(service: str, database_url: str, nats_url: str) -> list[dict]:
    create_app, settings = _apps()[service]
    app = create_app(settings(database_url, nats_url))
    with capture_logs() as logs:
        async with app.router.lifespan_context(app):
            pass
    return [entry for entry in logs if entry["event"] == "no_catch_all_sme"]


async def _project(database_url: str, service: str, version: int, document: dict) -> None:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": service})
    try:
        await conn.execute(
            "INSERT INTO process_versions (version, document) VALUES ($1, $2::jsonb)", version, json.dumps(document)
        )
    finally:
        await conn.close()


@pytest.mark.parametrize("service", ["notifier", "timers", "postmortem"])
async def test_r10_every_service_warns_at_start_while_catch_all_sme_is_empty(service, database_url, nats_url):
    assert await _start(service, database_url, nats_url) == []  # nothing projected yet: nothing to say
    await _project(database_url, service, 1, default_process())
    warned = await _start(service, database_url, nats_url)
    assert [(w["log_level"], w["rule"]) for w in warned] == [("warning", "R10")]
    await _project(database_url, service, 2, {**default_process(), "catch_all_sme": "cat"})
    assert await _start(service, database_url, nats_url) == []
