"""The console's safety over HTTP (S7, S9, S10), with the incident service in-process: CSRF, the cookie's
reach and flags, where a sign-in may lead, failed sign-ins limited, headers, one-time links, escaping."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.support.incident import auth, incident_service, register

SCRIPT = "<script>alert(1)</script>"
Clients = tuple[httpx.AsyncClient, httpx.AsyncClient, FastAPI]


@asynccontextmanager
async def console_of(
    database_url: str, nats_url: str, **settings: object
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, FastAPI]]:
    """(the admin's API client, a browser-like client without a token, the app) on one in-process service."""
    async with incident_service(database_url, nats_url, **settings) as (admin, app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://incident") as browser:
            yield admin, browser, app


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


async def sign_in(browser: httpx.AsyncClient, token: str, next_path: str = "/") -> httpx.Response:
    page = await browser.get("/")
    return await browser.post("/session", data={"token": token, "csrf": csrf_of(page.text), "next": next_path})


async def test_s9_a_form_without_its_sessions_csrf_token_is_refused_and_changes_nothing(database_url, nats_url):
    async with console_of(database_url, nats_url) as (admin, browser, app):
        sam, token = await register(admin, "Sam")
        assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
        assert (await sign_in(browser, token)).status_code == 303
        form = {"title": "Forged", "aspect": "servers", "severity": "2"}
        for forged in ({}, {"csrf": "0" * 64}):
            refused = await browser.post("/incidents/new", data={**form, **forged})
            assert refused.status_code == 403 and "This form has expired" in refused.text
        assert (await admin.get("/v1/incidents")).json()["incidents"] == []
        page = await browser.get("/incidents/new")
        accepted = await browser.post("/incidents/new", data={**form, "csrf": csrf_of(page.text)})
        assert accepted.status_code == 303


async def test_s9_the_session_cookie_opens_the_console_and_no_json_api_route(database_url, nats_url):
    async with console_of(database_url, nats_url) as (admin, browser, app):
        _, token = await register(admin, "Sam")
        signed_in = await sign_in(browser, token)
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        assert token not in cookie
        assert (await browser.get("/people")).status_code == 200
        for path in ("/v1/incidents", "/v1/people", "/v1/directory/aspects"):
            answer = await browser.get(path)
            assert answer.status_code == 401, (path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")


async def test_s9_behind_https_the_session_cookie_is_secure(database_url, nats_url):
    async with console_of(database_url, nats_url, public_url="https://warroom.example.com") as (admin, browser, app):
        _, token = await register(admin, "Sam")
        assert "Secure" in (await sign_in(browser, token)).headers["set-cookie"]


async def test_s9_after_signing_in_next_leads_only_to_a_page_of_this_site(database_url, nats_url):
    async with console_of(database_url, nats_url) as (admin, browser, app):
        _, token = await register(admin, "Sam")
        for asked, landed in (
            ("/incidents/new?aspect=servers", "/incidents/new?aspect=servers"),
            ("https://evil.example/", "/"),
            ("//evil.example/x", "/"),
            ("/\\evil.example", "/"),
            ("/session/end", "/"),
        ):
            browser.cookies.clear()
            assert (await sign_in(browser, token, asked)).headers["location"] == landed, asked


async def test_s7_failed_sign_ins_are_counted_against_the_address_and_then_refused(database_url, nats_url):
    async with console_of(database_url, nats_url, auth_failure_burst=3, auth_failures_per_second=0.01) as (
        admin,
        browser,
        _,
    ):
        _, token = await register(admin, "Sam")
        statuses = []
        for _ in range(5):
            page = await browser.get("/")
            answer = await browser.post("/session", data={"token": "wrong", "csrf": csrf_of(page.text), "next": "/"})
            statuses.append(answer.status_code)
        assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
        assert "Too many failed sign-ins" in answer.text


async def test_s9_console_pages_forbid_inline_scripts_other_origins_and_framing(database_url, nats_url):
    async with console_of(database_url, nats_url) as (admin, browser, app):
        page = await browser.get("/")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "http" not in policy
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page.text)
        assert not re.search(r"""(src|href)=["']https?:""", page.text)
        api = await admin.get("/v1/incidents")
        assert "content-security-policy" not in api.headers  # the JSON API is not the console's


async def test_s10_what_people_write_shows_escaped_on_the_incident_page(database_url, nats_url):
    async with console_of(database_url, nats_url) as (admin, browser, app):
        sam, token = await register(admin, "Sam <b>the</b> SME", email="sam.the.sme@example.com")
        worker, worker_token = await register(admin, "Wendy")
        assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
        body = {"title": SCRIPT, "description": '"><img src=x onerror=alert(2)>', "aspect": "servers", "severity": 2}
        incident = (await admin.post("/v1/incidents", json=body, headers=auth(token))).json()
        assert (
            await admin.post(f"/v1/incidents/{incident['id']}/workers", json={"person": worker}, headers=auth(token))
        ).status_code == 200
        parts = dict.fromkeys(("learned", "tried", "outcome", "working_on", "remaining"), "<iframe src=//evil>")
        posted = await admin.post(
            f"/v1/incidents/{incident['id']}/status-updates", json=parts, headers=auth(worker_token)
        )
        assert posted.status_code == 200, posted.text
        await sign_in(browser, token)
        page = (await browser.get(f"/incidents/{incident['id']}")).text
        assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img" not in page and "<iframe" not in page and "<b>the</b>" not in page
        assert "Sam &lt;b&gt;the&lt;/b&gt; SME" in page


async def test_s9_a_sign_in_link_past_its_15_minutes_signs_nobody_in(database_url, nats_url):
    from services.incident.console import signin_links

    async with console_of(database_url, nats_url) as (admin, browser, app):
        sam, _ = await register(admin, "Sam")
        pool = app.state.pool
        fresh = await signin_links.create(pool, sam, "/")
        stale = await signin_links.create(pool, sam, "/")
        await pool.execute(
            "UPDATE console_signin_links SET expires_at = now() - interval '1 second' WHERE secret_hash = $1",
            signin_links._hash(stale),
        )
        assert (await browser.get(f"/session/link/{stale}")).status_code == 410
        shown = await browser.get(f"/session/link/{fresh}")
        assert shown.status_code == 200 and (await signin_links.usable(pool, fresh))  # showing it used nothing
        used = await browser.post("/session/link", data={"secret": fresh, "csrf": csrf_of(shown.text)})
        assert used.status_code == 303 and "warroom_session=" in used.headers["set-cookie"]
        browser.cookies.clear()
        again = await browser.get(f"/session/link/{fresh}")
        assert again.status_code == 410
        form = csrf_of((await browser.get("/")).text)
        replay = await browser.post("/session/link", data={"secret": fresh, "csrf": form})
        assert replay.status_code == 410 and "warroom_session=" not in replay.headers.get("set-cookie", "")
