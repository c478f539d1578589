"""Wires the timers service: projection consumer, scheduler, outbox publisher, HTTP."""

import functools
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from services.timers import api, handlers
from services.timers.scheduler import CONSUMER, Scheduler, consumer_caught_up
from shared import logs, outbox, runtime, trace_export, web
from shared.clock import Clock
from shared.contract.streams import INCIDENT
from shared.settings import Settings

SERVICE = "timers"
# Advisory lock held by the one replica that publishes this schema's outbox. Advisory locks
# are database-wide, so each service's key differs (incident relay 100, notifier 102).
OUTBOX_LOCK = 7_431_101


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or Clock()
    logs.configure(SERVICE, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        exporting = trace_export.start(settings, SERVICE)  # first: the start's own work is traced too
        infra = await runtime.open_infrastructure(settings, SERVICE, "services.timers")
        runtime.keep_request_tables(infra)
        app.state.infra, app.state.pool = infra, infra.pool
        publisher = outbox.Publisher(infra.pool, infra.js, OUTBOX_LOCK, settings.poll_interval)
        scheduler = Scheduler(
            infra.pool,
            clock,
            poll_interval=settings.poll_interval,
            on_fired=publisher.wake.set,
            caught_up=functools.partial(consumer_caught_up, infra.js, INCIDENT.name, CONSUMER),
        )
        runtime.start_consumers(infra, SERVICE, {CONSUMER: handlers.consumer_handler(clock)})
        infra.spawn(scheduler.run(), "timers-scheduler")
        infra.spawn(publisher.run(), "timers-outbox")
        try:
            yield
        finally:
            await infra.close()
            await trace_export.stop(exporting)

    app = FastAPI(
        title="Warroom timers",
        version="1",
        lifespan=lifespan,
        description="Keeps every deadline of the process for each incident — acknowledgements, status and "
        "public updates, checklist steps, handovers and shift limits, workers' freshness — and publishes a "
        "`warroom.timer.*` event when one falls due.",
        openapi_tags=api.TAGS,
    )
    web.attach(app, _ready, settings)
    # After attach, so its operations are named by shared/openapi.py (camelCase operationIds).
    app.include_router(api.router)
    return app


async def _ready(request: Request) -> bool:
    infra = getattr(request.app.state, "infra", None)
    return infra is not None and await infra.ready()
