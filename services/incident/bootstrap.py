"""Wires the incident service: event store, relay, HTTP. FastAPI's lifespan calls it."""

import asyncio
from contextlib import asynccontextmanager

import anyio
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from services.incident import chain_backfill, console, deps, handlers, people_list, rules_page
from services.incident.api import (
    acknowledge_link,
    alertmanager,
    commands,
    directory,
    events,
    incidents,
    integrity,
    people,
    process,
    reports,
)
from services.incident.api.tokens import router as tokens_router
from services.incident.application import IncidentApplication
from services.incident.errors import NotFound, Refused
from services.incident.live import LiveEvents
from services.incident.recorder import LockedInsertRecorder
from services.incident.relay_process import RelayProcess
from services.incident.store_env import SCHEMA, event_store_env
from services.incident.token_usage import TokenUsage
from shared import db, logs, natsio, problems, runtime, trace_export, web
from shared.clock import Clock
from shared.contract import CONSUMERS
from shared.problems import Problem
from shared.runtime import Infrastructure, start_consumers
from shared.sealing import Sealer, SecretsUnavailable
from shared.settings import Settings

log = logs.get(__name__)

# This service's consumers share the event loop with its requests, and a batch's Python work (its messages
# read and dispatched by nats-py, recorded, acknowledged) comes in stretches that a request waits behind. At the
# downstream services' 250, the incident list's consumer, then in the worker, put commands' p99 during a relay
# catch-up at 96–98 ms against 9–10 quiet; at 16, 27 ms (bench p1-relay). That consumer now runs in the relay's
# process; those left here (timers' and post-mortems' consequences) are light, and keep to the small batch.
CONSUMER_BATCH = 16


async def start(settings: Settings, clock: Clock) -> tuple[Infrastructure, IncidentApplication]:
    # Each POST with an Idempotency-Key holds a connection while its command runs, as does a retry waiting on it.
    pool = await db.create_pool(settings.database_url, SCHEMA, max_size=20, timeouts=db.Timeouts.of(settings))
    # The consuming tables (processed events, ordering, parking), the HTTP side's, and the service's
    # own; not the organisation's projection: this service is where the organisation is kept.
    common = [m for m in db.migration_files("shared") if "consuming" in m[0] or "http" in m[0]]
    await db.migrate(pool, SCHEMA, common + db.migration_files("services.incident"))
    async with db.migrations_locked(pool):  # the library creates its tables on construction
        sealer = Sealer(settings.secrets_keys)
        application = await asyncio.to_thread(
            IncidentApplication, event_store_env(settings.database_url), clock, sealer
        )
        await asyncio.to_thread(chain_backfill.backfill, application)  # once: histories stored before the chain
    recorder = application.recorder
    assert isinstance(recorder, LockedInsertRecorder)  # the APPLICATION_RECORDER_TOPIC of event_store_env
    db.fail_fast(recorder.datastore.pool, db.Timeouts.of(settings))
    if settings.admin_token:
        await asyncio.to_thread(application.people.ensure_admin, settings.admin_token)
    else:
        log.warning("no_admin_token", detail="WARROOM_ADMIN_TOKEN is unset: nobody can configure Warroom")
    await asyncio.to_thread(application.people.index_tokens)  # once: tokens issued before keyrings existed
    await people_list.seed(pool, application)  # once: people registered before the list existed
    await asyncio.to_thread(warn_without_catch_all, application)
    nc = await natsio.connect(settings.nats_url, "warroom-incident")
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    for declared in CONSUMERS[SCHEMA]:
        await natsio.ensure_consumer(js, declared, ack_wait=settings.ack_wait)
    infra = Infrastructure(settings, pool, nc, js)
    runtime.keep_request_tables(infra)
    # The lists' consumer runs in the relay's process (relay_process.py), out of the requests' way.
    start_consumers(
        infra, SCHEMA, handlers.by_durable(application), batch=CONSUMER_BATCH, elsewhere=frozenset({handlers.LISTS})
    )
    return infra, application


def warn_without_catch_all(application: IncidentApplication) -> None:
    """R10: with no catch_all_sme, a declaration for an aspect without SMEs finds nobody to page and is refused."""
    try:
        _, document = application.organisation.process()
    except NotFound:
        return  # no process yet (no admin token): nothing is declared until one is published
    if not document.get("catch_all_sme"):
        log.warning(
            "no_catch_all_sme",
            rule="R10",
            detail="catch_all_sme is empty: declaring for an aspect without SMEs will be refused",
        )


async def authenticate(scope, token: str):
    """The caller of a request, from the event store, before its body is read (shared.ratelimit); the
    token's use is noted for its person's token list (token_usage.py)."""
    application: IncidentApplication = scope["app"].state.application
    actor = application.people.recently_authenticated(token)
    if actor is None:
        try:
            actor = await run_in_threadpool(application.people.authenticate, token)
        except (OperationalError, InterfaceError) as exc:
            raise db.Unavailable(str(exc)) from exc
    if actor is not None:
        await scope["app"].state.token_usage.seen(token)
    return actor


def refusals(app: FastAPI) -> None:
    """A use case's refusal (errors.py) and an unreachable event store answer as problems, for every route."""

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)  # registered for Refused below; Starlette types a handler for any exception
        problem = Problem(exc.status, exc.detail, rule=exc.rule, errors=exc.errors)
        return await request.app.exception_handlers[Problem](request, problem)

    async def unavailable(request: Request, exc: Exception) -> Response:
        problem = Problem(
            503, "the event store is unavailable; nothing was changed, retry shortly", headers={"Retry-After": "1"}
        )
        return await request.app.exception_handlers[Problem](request, problem)

    async def unsealable(request: Request, exc: Exception) -> Response:
        # A secret cannot be stored in plaintext (S11): without a key, nothing is stored at all.
        problem = Problem(503, f"{exc}; nothing was changed (an operator must configure it)")
        return await request.app.exception_handlers[Problem](request, problem)

    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(SecretsUnavailable, unsealable)
    for kind in (OperationalError, InterfaceError):  # Contended (a command losing races for too long) too
        app.add_exception_handler(kind, unavailable)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure("incident", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Threads for the event store's work (api/threaded.py). 16: make bench's P2 waited ~110-150 ms for
        # one of 8 and made 150-200 commands/s, 180-220/s with 16 (each command longer in its thread, but
        # fewer waiting). Not dozens: they fight for the GIL (when the relay ran on this event loop, relay
        # lag p99 went from ~50 ms to ~2 s with 40 of them).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.command_threads
        exporting = trace_export.start(settings, SCHEMA)  # first: the start's own work is traced too
        infra, application = await start(settings, clock or Clock())
        # The relay, in a process of its own (relay_process.py), once this start has made the tables and met
        # NATS: it is given every server of the cluster the worker knows, not only the one configured.
        relay_process = RelayProcess(settings, servers=lambda: natsio.known_servers(infra.nc))
        relay = asyncio.create_task(relay_process.run(), name="relay")
        app.state.infra, app.state.pool, app.state.application = infra, infra.pool, application
        app.state.token_usage = TokenUsage(infra.pool)
        # The live event streams' one NATS subscription on this replica (services/incident/live.py).
        live = LiveEvents(settings.stream_queue_size, settings.max_streams_per_token, settings.stream_keepalive_seconds)
        await live.start(infra.js)
        app.state.live = live
        try:
            yield
        finally:
            await live.stop()
            await runtime.stop_tasks([relay])
            await infra.close()
            await asyncio.to_thread(application.close)
            await trace_export.stop(exporting)

    app = FastAPI(title="Warroom incident service", version="1", lifespan=lifespan)

    async def ready(request) -> bool:
        # PostgreSQL only: the store is the source of truth, and commands are accepted while NATS
        # is away (F2) — the relay catches up — so a NATS outage must not take the service out.
        return await request.app.state.infra.ready(needs_nats=False)

    web.attach(app, ready, settings, authenticate=authenticate)
    for field in ("severity", "level"):  # R09: a severity refused names the levels it may take
        problems.explain(app, field, deps.levels_in_words)
    refusals(app)
    # In this order, which is the API document's.
    for router in (
        people.router,
        tokens_router,
        process.router,
        directory.router,
        reports.router,
        process.refinement_router,
        incidents.router,
        events.router,
        integrity.router,
        commands.router,
        alertmanager.router,
    ):
        app.include_router(router)
    app.include_router(rules_page.router)  # GET /rules, no token: what problem types link to
    acknowledge_link.install(app, settings)  # GET/POST /links/acknowledge/{signed}: the link is the credential
    console.mount(app, settings)  # the web console at /: its pages, static files and sessions (app.state.sessions)
    return app
