"""The four services as separate processes on the test's PostgreSQL and NATS, for the fault tests that
kill, restart or starve them (F1, F2, F11, F12)."""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.incident import ADMIN_TOKEN
from tests.support.processes import ServiceProcess

SERVICES = ("incident", "notifier", "timers", "postmortem")
DOWNSTREAM = ("notifier", "timers", "postmortem")


def environment(database_url: str, nats_url: str, **more: str) -> dict[str, str]:
    """What every service is given: no rate limit in the way of a load, quick polling, quiet logs, and what a
    killed consumer had in hand delivered again after 5 s rather than 30."""
    return {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
        "WARROOM_RATE_LIMIT_PER_SECOND": "100000",
        "WARROOM_RATE_LIMIT_BURST": "100000",
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_LOG_LEVEL": "warning",
        "WARROOM_ACK_WAIT": "5",
        **more,
    }


@asynccontextmanager
async def running(
    names: Iterable[str], env: dict[str, str], log_dir: Path, nats_urls: dict[str, str] | None = None
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The named services started side by side (each on ``nats_urls[name]`` when given), stopped afterwards."""
    services = {
        name: ServiceProcess(
            name, {**env, "WARROOM_NATS_URL": (nats_urls or {}).get(name, env["WARROOM_NATS_URL"])}, log_dir
        )
        for name in names
    }
    try:
        await asyncio.gather(*(asyncio.to_thread(service.start, 60) for service in services.values()))
        yield services
    finally:
        for service in services.values():
            await asyncio.to_thread(service.stop)


def urls(services: dict[str, ServiceProcess]) -> dict[str, str]:
    return {name: service.url for name, service in services.items()}
