"""Wiring: the post-mortem service's app, its infrastructure, consumers, outbox and incident client."""

from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request

from services.postmortem import api, backtests_api, report_link
from services.postmortem.handlers import HANDLERS
from services.postmortem.refinements import IncidentService
from services.postmortem.settings import PostmortemSettings
from shared import links, logs, outbox, runtime, trace_export, web
from shared.clock import Clock
from shared.settings import Settings

SERVICE = "postmortem"
# Advisory lock: one replica at a time publishes the post-mortem outbox (database-wide key).
OUTBOX_LOCK = 7_431_103


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    incident_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``incident_transport`` reaches the incident service another way than over the network (tests
    run it in-process); by default requests go to ``settings.incident_url``."""
    if not isinstance(settings, PostmortemSettings):  # shared settings: the rest from the environment
        settings = PostmortemSettings(**(settings.model_dump(exclude_unset=True) if settings else {}))
    logs.configure(SERVICE, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        exporting = trace_export.start(settings, SERVICE)  # first: the start's own work is traced too
        async with httpx.AsyncClient(
            base_url=settings.incident_url, transport=incident_transport, timeout=settings.incident_timeout
        ) as client:
            app.state.incident_service = IncidentService(client)
            infra = await runtime.open_infrastructure(settings, SERVICE, "services.postmortem")
            runtime.keep_request_tables(infra)
            app.state.infra, app.state.pool = infra, infra.pool
            app.state.publisher = outbox.Publisher(infra.pool, infra.js, OUTBOX_LOCK, settings.poll_interval)
            runtime.start_consumers(infra, SERVICE, HANDLERS)
            infra.spawn(app.state.publisher.run(), "postmortem-outbox")
            try:
                yield
            finally:
                await infra.close()
                await trace_export.stop(exporting)

    app = FastAPI(
        title="Warroom post-mortems",
        version="1",
        lifespan=lifespan,
        description="Every incident's post-mortem: a draft computed from its events from the declaration on, "
        "the narrative and action items people write, process refinements applied from it (R17), and the "
        "report published and frozen (R16) — as JSON, Markdown or a self-contained web page.",
        openapi_tags=api.TAGS + backtests_api.TAGS,
    )
    app.state.clock = clock or Clock()
    # Checked now (a short secret stops the start), warned about now when absent (shared/links.py).
    app.state.report_links = report_link.ReportLinks(links.signer(settings, SERVICE), settings.postmortem_base_url())

    async def ready(request: Request) -> bool:
        infra = getattr(request.app.state, "infra", None)
        return infra is not None and await infra.ready()

    web.attach(app, ready, settings)
    app.include_router(api.router)
    app.include_router(report_link.router)  # GET …/link; the report by signed link, without a token
    app.include_router(backtests_api.router)  # policy back-testing
    return app
