"""Wiring: the post-mortem service's app, its infrastructure and its consumers."""
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from services.postmortem import api
from services.postmortem.handlers import HANDLERS
from shared import logs, runtime, web
from shared.clock import Clock
from shared.settings import Settings

SERVICE = "postmortem"


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        logs.configure(SERVICE, settings.log_level)
        infra = await runtime.open_infrastructure(settings, SERVICE, "services.postmortem")
        app.state.infra, app.state.pool = infra, infra.pool
        runtime.start_consumers(infra, SERVICE, HANDLERS)
        try:
            yield
        finally:
            await infra.close()

    app = FastAPI(title="Warroom post-mortems", version="1", lifespan=lifespan)
    app.state.clock = clock or Clock()

    async def ready(request: Request) -> bool:
        infra = getattr(request.app.state, "infra", None)
        return infra is not None and await infra.ready()

    web.attach(app, ready)
    app.include_router(api.router)
    return app
