"""Swagger UI and ReDoc in a real browser (Debian's chromium driven by Playwright) with every request that
leaves the service refused: both pages still render each operation of the incident service's API, and
nothing tried to reach another host."""

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.async_api import Page, Route, async_playwright

from services.incident.bootstrap import create_app
from shared.settings import Settings
from tests.support.browser import (
    LAUNCH_ARGS,
    Chromium,
    chromium,  # noqa: F401 — the session fixture: finds or installs chromium
)
from tools.localstack import free_port

RENDER_TIMEOUT_MS = 30_000


@pytest.fixture
async def service() -> AsyncIterator[str]:
    """The incident service's HTTP side on a free port; no lifespan (the pages need no database)."""
    config = uvicorn.Config(create_app(Settings()), host="127.0.0.1", port=free_port(), lifespan="off")
    config.log_level = "warning"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


async def offline_page(page: Page, base: str, elsewhere: list[str]) -> None:
    """Only the service answers; any other host is refused and noted, as it would fail without internet."""
    own = urlsplit(base).netloc

    async def only_the_service(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == own:
            await route.continue_()
        else:
            elsewhere.append(url)
            await route.abort()

    await page.route("**/*", only_the_service)


async def test_swagger_ui_and_redoc_render_every_operation_without_any_other_host(
    chromium: Chromium,  # noqa: F811 — the fixture imported above
    service: str,
):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium.binary, headless=True, args=LAUNCH_ARGS)
        try:
            page = await browser.new_page()
            elsewhere: list[str] = []
            await offline_page(page, service, elsewhere)
            spec = await (await page.request.get(f"{service}/openapi.json")).json()
            operations = sum(
                1
                for item in spec["paths"].values()
                for method in item
                if method in ("get", "post", "put", "patch", "delete")
            )

            await page.goto(f"{service}/docs")
            await page.locator(".opblock").nth(operations - 1).wait_for(timeout=RENDER_TIMEOUT_MS)
            assert await page.locator(".opblock").count() == operations
            assert await page.locator(".info .title").inner_text() != ""

            await page.goto(f"{service}/redoc")
            shown = page.locator('[data-section-id^="operation/"]')
            await shown.nth(operations - 1).wait_for(state="attached", timeout=RENDER_TIMEOUT_MS)
            assert await shown.count() == operations
            assert elsewhere == [], f"the pages tried to reach other hosts: {elsewhere}"
        finally:
            await browser.close()
