"""Wires the notifier: consumers queue deliveries, the worker sends them, the outbox announces them."""

from contextlib import asynccontextmanager

import asyncpg
import httpx
from fastapi import FastAPI, Request

from services.notifier import api, guard, handlers, readmodel, signing
from services.notifier.channels import Mailer, Webhooks
from services.notifier.notice_links import NoticeLinks
from services.notifier.phones import Phones
from services.notifier.settings import NotifierSettings, notifier_settings
from services.notifier.worker import DeliveryWorker
from shared import links, logs, outbox, runtime, trace_export, web
from shared.clock import Clock
from shared.sealing import Sealer
from shared.settings import Settings

# Advisory lock key of the notifier's outbox publisher: one replica publishes at a time.
OUTBOX_LOCK = 7_431_102


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = notifier_settings(settings)
    clock = clock or Clock()
    logs.configure("notifier", settings.log_level)
    allowlist = guard.Allowlist.parse(settings.allowlist())
    # Checked now (a short secret stops the start), warned about now when absent (shared/links.py).
    notice_links = NoticeLinks(links.signer(settings, "notifier"), settings.public_url, settings.postmortem_base_url())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        exporting = trace_export.start(settings, "notifier")  # first: the start's own work is traced too
        # Consumers, publisher, worker slots, API: more than the default pool of 10.
        infra = await runtime.open_infrastructure(
            settings, "notifier", "services.notifier", pool_size=12 + settings.notifier_concurrency
        )
        runtime.keep_request_tables(infra)
        keys, generated = await _signing_keys(infra.pool, settings)
        client = _webhook_client(settings)
        publisher = outbox.Publisher(infra.pool, infra.js, OUTBOX_LOCK, settings.poll_interval)
        worker = DeliveryWorker(
            infra.pool,
            Webhooks(client, allowlist, settings.notifier_delivery_timeout),
            _mailer(settings),
            clock,
            signing_keys=keys,
            database_url=settings.database_url,
            poll_interval=settings.poll_interval,
            concurrency=settings.notifier_concurrency,
            on_delivered=publisher.wake.set,
            phones=Phones(allowlist, settings.notifier_delivery_timeout),
            sealer=Sealer(settings.secrets_keys),
        )
        app.state.infra, app.state.pool = infra, infra.pool
        app.state.signing_keys, app.state.secrets_generated = keys, generated
        app.state.wake_worker = worker.wake.set
        options = handlers.Options(clock, email=bool(settings.smtp_host), links=notice_links)
        runtime.start_consumers(infra, "notifier", handlers.by_durable(options))
        infra.spawn(worker.listen(), "delivery-listener")
        infra.spawn(worker.run(), "delivery-worker")
        infra.spawn(publisher.run(), "outbox-publisher")
        try:
            yield
        finally:
            await infra.close()
            await client.aclose()
            await trace_export.stop(exporting)

    app = FastAPI(
        title="Warroom notifier",
        version="1",
        lifespan=lifespan,
        description="Tells the right people at the right hour through webhooks, email and "
        "subscriptions; every delivery and attempt is on record.",
        openapi_tags=api.TAGS,
    )
    app.state.clock, app.state.allowlist = clock, allowlist
    web.attach(app, _ready, settings)
    # After attach, so their operations are named by shared/openapi.py (camelCase operationIds).
    for router in api.ROUTERS:
        app.include_router(router)
    return app


def _webhook_client(settings: NotifierSettings) -> httpx.AsyncClient:
    """No proxies from the environment (they would bypass the SSRF guard's pinned address), and no
    redirects (a public URL could otherwise bounce the POST to a private one). Every phase bounded
    (connect within 3 s at most, each read and write within the budget), and the whole attempt within
    the budget too (channels.Webhooks)."""
    budget = settings.notifier_delivery_timeout
    return httpx.AsyncClient(
        timeout=httpx.Timeout(budget, connect=min(budget, 3.0)),
        limits=httpx.Limits(max_connections=4 * settings.notifier_concurrency),
        follow_redirects=False,
        trust_env=False,
    )


async def _signing_keys(pool: asyncpg.Pool, settings: NotifierSettings) -> tuple[list[str], bool]:
    """The configured secrets (checked now, not at the first webhook), or the one generated and kept."""
    if configured := settings.signing_secrets():
        for secret in configured:
            try:
                signing.decode(secret)
            except ValueError as exc:
                raise ValueError(f"WARROOM_NOTIFIER_SIGNING_SECRETS: {exc}") from None
        return configured, False
    async with pool.acquire() as conn:
        return [await readmodel.generated_secret(conn, signing.generate())], True


def _mailer(settings: NotifierSettings) -> Mailer | None:
    if not settings.smtp_host:
        return None
    return Mailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        timeout=settings.notifier_delivery_timeout,
    )


async def _ready(request: Request) -> bool:
    infra = getattr(request.app.state, "infra", None)
    return infra is not None and await infra.ready()
