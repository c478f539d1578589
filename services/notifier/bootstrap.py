"""Wires the notifier: consumers queue deliveries, the worker sends them, the outbox announces them."""
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

from services.notifier import api, guard, handlers
from services.notifier.delivery import DeliveryWorker
from shared import logs, outbox, runtime, web
from shared.clock import Clock
from shared.settings import Settings

# Advisory lock key of the notifier's outbox publisher: one replica publishes at a time.
OUTBOX_LOCK = 7_431_102
# A webhook that has not answered by then is retried later rather than holding a worker slot.
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    logs.configure("notifier", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Consumers, publisher, worker slots, API: more than the default pool of 10.
        infra = await runtime.open_infrastructure(settings, "notifier", "services.notifier", pool_size=16)
        # No proxies from the environment (they would bypass the SSRF guard's pinned address),
        # and no redirects (a public URL could otherwise bounce the POST to a private one).
        client = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, follow_redirects=False, trust_env=False)
        publisher = outbox.Publisher(infra.pool, infra.js, OUTBOX_LOCK, settings.poll_interval)
        worker = DeliveryWorker(infra.pool, client, clock, guard.Allowlist.parse(settings.allowlist()),
                                database_url=settings.database_url, poll_interval=settings.poll_interval,
                                on_delivered=publisher.wake.set)
        app.state.infra, app.state.pool = infra, infra.pool
        runtime.start_consumers(infra, "notifier", handlers.by_durable(clock))
        infra.spawn(worker.listen(), "delivery-listener")
        infra.spawn(worker.run(), "delivery-worker")
        infra.spawn(publisher.run(), "outbox-publisher")
        try:
            yield
        finally:
            await infra.close()
            await client.aclose()

    app = FastAPI(title="Warroom notifier", version="1", lifespan=lifespan)
    app.include_router(api.router)
    web.attach(app, _ready)
    return app


async def _ready(request: Request) -> bool:
    infra = getattr(request.app.state, "infra", None)
    return infra is not None and await infra.ready()
