"""The console in a real browser: Debian's chromium driven by Playwright, against the incident, notifier and
post-mortem services running as real processes (as `make run` starts them), with an SMTP server and a
webhook receiver standing in for people's inboxes and phones.

One browser for the session and one set of services per module (starting them is most of the cost);
each test opens its own browser contexts (a fresh cookie jar each) and its own people and incidents.
Screenshots land in var/screenshots/ (git-ignored), to be looked at.
"""

import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from playwright.async_api import Browser, async_playwright
from psycopg import sql

from tests.browser.console import Console, Mail, Pages
from tests.support.browser import (
    LAUNCH_ARGS,
    Chromium,
    chromium,  # noqa: F401 — the session fixture: finds or installs chromium
)
from tests.support.incident import ADMIN_TOKEN
from tests.support.processes import ROOT, ServiceProcess
from tests.support.webhook import WebhookReceiver

SERVICES = ("incident", "notifier", "postmortem")
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="session")
async def browser(chromium: Chromium) -> AsyncIterator[Browser]:  # noqa: F811 — the fixture above
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium.binary, headless=True, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def pages(browser: Browser) -> AsyncIterator[Pages]:
    opened = Pages(browser)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def module_database(pg_server) -> Iterator[str]:
    name = f"wr_console_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlsplit(pg_server.url)._replace(path="/" + name).geturl()
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
async def module_nats(nats_server) -> str:
    """The NATS server with every stream deleted, as the per-test fixture leaves it."""
    import nats

    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name:
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()
    return str(nats_server.url)


@pytest.fixture(scope="module")
def console(module_database: str, module_nats: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    logs = tmp_path_factory.mktemp("console-services")
    with Mail() as mail, WebhookReceiver() as phones:
        env = {
            "WARROOM_DATABASE_URL": module_database,
            "WARROOM_NATS_URL": module_nats,
            "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
            "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
            "WARROOM_POLL_INTERVAL": "0.2",
            "WARROOM_LINK_SECRETS": "console-test-link-secret-0123456789abcdef",
            "WARROOM_SMTP_HOST": "127.0.0.1",
            "WARROOM_SMTP_PORT": str(mail.port),
            "WARROOM_STREAM_KEEPALIVE_SECONDS": "2",
        }
        processes = {name: ServiceProcess(name, env, logs) for name in SERVICES}
        for process in processes.values():
            process.env["WARROOM_PUBLIC_URL"] = processes["incident"].url
            process.env["WARROOM_PUBLIC_POSTMORTEM_URL"] = processes["postmortem"].url
            process.env["WARROOM_POSTMORTEM_URL"] = processes["postmortem"].url
            process.env["WARROOM_INCIDENT_URL"] = processes["incident"].url
        started = []
        try:
            for name in SERVICES:  # the incident service first: it declares the streams the others read
                started.append(processes[name].start())
            yield Console(processes["incident"].url, processes["postmortem"].url, mail, phones)
        except Exception:
            for process in started:
                print(f"--- {process.name} log ---\n{process.log_path.read_text()[-4000:]}")
            raise
        finally:
            for process in reversed(started):
                process.stop()
            if failed := [p for p in started if p.process and p.process.returncode not in (0, -15, None)]:
                shutil.copytree(logs, SCREENSHOTS / "service-logs", dirs_exist_ok=True)
                print(f"services ended badly: {[p.name for p in failed]}; logs in {SCREENSHOTS / 'service-logs'}")
