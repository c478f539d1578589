"""P9 — the web console: the incident page with 200 timeline entries, and an event reaching an open page.

The incident service runs as its own process. A manager declares an incident, adds a worker, and the
worker posts status updates until the timeline holds 200 entries. Then:

- server time: ``GET /incidents/{id}`` (the whole page: roles, what is due, the forms the manager may
  use, the last 200 events in words) timed at the client on loopback, after a warm-up; the same
  incident's JSON (``GET /v1/incidents/{id}``) is timed in the same run as the baseline of the ratio.
  Goal: p99 ≤ 50 ms.
- event → screen: the page open in headless Chromium (Debian's ``chromium``, installed when missing as the
  tests do, driven by Playwright), the worker posts a status update over the API, and the page records (a
  MutationObserver) when its entry appears in the timeline; the time from the command's sending to that
  moment, both on this machine's clock. Goal: p99 ≤ 500 ms.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx

from bench.admin import Admin, bearer
from bench.loadclient import Connection
from bench.measure import ms, percentile
from bench.stack import Servers
from tools import debian

ENTRIES = 200
PAGE_SAMPLES = 100
SCREEN_SAMPLES = 40
WARM_UP = 5
UPDATE = {
    "learned": "The index is cold on the replicas.",
    "tried": "Warmed one replica.",
    "outcome": "Its latency fell to 40 ms.",
    "working_on": "Warming the others.",
    "remaining": "Find why the cache was dropped.",
}
# Records when each timeline entry appears: window.seen[sequence] = Date.now().
OBSERVER = """() => {
  window.seen = {};
  new MutationObserver(() => {
    for (const li of document.querySelectorAll('#timeline > li')) {
      const n = li.dataset.sequence;
      if (!(n in window.seen)) { window.seen[n] = Date.now(); }
    }
  }).observe(document.getElementById('incident'), {childList: true, subtree: true});
}"""


async def _scene(url: str) -> tuple[str, str, str]:
    """(incident id, the manager's token, the worker's token) with ENTRIES events in the incident's history."""
    admin = Admin(url)
    try:
        sam, wes = await admin.register("Sam"), await admin.register("Wes")
        await admin.set_aspect("servers", [sam])
        sam_token, wes_token = await admin.token(sam), await admin.token(wes)
    finally:
        await admin.close()
    manager, worker = Connection(url, bearer(sam_token)), Connection(url, bearer(wes_token))
    try:
        body = {"title": "Object store slow", "aspect": "servers", "severity": 2}
        incident = (await manager.request("POST", "/v1/incidents", body)).json()
        await manager.request("POST", f"/v1/incidents/{incident['id']}/workers", {"person": wes})
        version = 2
        while version < ENTRIES:
            answer = await worker.request("POST", f"/v1/incidents/{incident['id']}/status-updates", UPDATE)
            if answer.status != 200:
                raise RuntimeError(f"status update: {answer.status} {answer.body[:300]!r}")
            version = answer.json()["version"]
    finally:
        await manager.close()
        await worker.close()
    return incident["id"], sam_token, wes_token


async def _session(url: str, token: str) -> str:
    """A console session's cookie value, signed in as a browser does (the sign-in form and its token)."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as browser:
        page = await browser.get("/")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await browser.post("/session", data={"token": token, "csrf": csrf, "next": "/"})
        return str(browser.cookies["warroom_session"])


async def _timed(http: Connection, path: str, samples: int) -> list[float]:
    durations = []
    for n in range(WARM_UP + samples):
        started = time.perf_counter()
        answer = await http.request("GET", path)
        if n >= WARM_UP:
            durations.append(time.perf_counter() - started)
        if answer.status != 200:
            raise RuntimeError(f"GET {path}: {answer.status} {answer.body[:300]!r}")
    return durations


async def _event_to_screen(url: str, incident: str, session: str, worker_token: str) -> list[float] | str:
    """Milliseconds from a command's sending to its entry on the open page; or why it was not measured."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    try:  # installed first when missing, as the tests do (apt-get: a few minutes on a fresh machine)
        binary = await asyncio.to_thread(debian.binary, "chromium", ("chromium", "chromium-browser"))
    except RuntimeError as error:
        return str(error)
    worker = Connection(url, bearer(worker_token))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=binary, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            await context.add_cookies([{"name": "warroom_session", "value": session, "url": url}])
            page = await context.new_page()
            await page.goto(f"{url}/incidents/{incident}")
            await page.locator("#live-state", has_text="Live").wait_for(timeout=10_000)
            await page.evaluate(OBSERVER)
            return [await _one_event(page, worker, incident) for _ in range(SCREEN_SAMPLES)]
        finally:
            await browser.close()
            await worker.close()


async def _one_event(page: Any, worker: Connection, incident: str) -> float:
    sent = time.time() * 1000
    answer = await worker.request("POST", f"/v1/incidents/{incident}/status-updates", UPDATE)
    sequence = answer.json()["version"]
    seen = await page.wait_for_function(f"() => window.seen && window.seen['{sequence}']", timeout=10_000)
    return float(await seen.json_value()) - sent


async def run(servers: Servers, baseline: float) -> None:
    async with servers.system("incident") as services:
        url = services["incident"].url
        incident, manager_token, worker_token = await _scene(url)
        session = await _session(url, manager_token)
        page_http = Connection(url, {"Cookie": f"warroom_session={session}"})
        api_http = Connection(url, bearer(manager_token))
        try:
            html = await _timed(page_http, f"/incidents/{incident}", PAGE_SAMPLES)
            json = await _timed(api_http, f"/v1/incidents/{incident}", PAGE_SAMPLES)
        finally:
            await page_http.close()
            await api_http.close()
        screen = await _event_to_screen(url, incident, session, worker_token)
    print(
        f"P9 console incident page with {ENTRIES} timeline entries: p50 {ms(percentile(html, 50))} ms "
        f"p99 {ms(percentile(html, 99))} ms (goal ≤ 50 ms) · the same incident's JSON p50 "
        f"{ms(percentile(json, 50))} ms · ratio p50 page to JSON: {percentile(html, 50) / percentile(json, 50):.1f}",
        flush=True,
    )
    if isinstance(screen, str):
        print(f"P9 event → screen: not measured: {screen}", flush=True)
        return
    insert = 1000 / baseline
    print(
        f"P9 event → screen in an open page (Chromium), {len(screen)} status updates: p50 "
        f"{percentile(screen, 50):.0f} ms p99 {percentile(screen, 99):.0f} ms (goal ≤ 500 ms) · "
        f"ratio p50 to one asyncpg INSERT: {percentile(screen, 50) / insert:.0f}",
        flush=True,
    )


if __name__ == "__main__":  # `python -m bench.p9_console` = `python -m bench p9`
    from bench.__main__ import cli

    sys.exit(cli(["p9"]))
