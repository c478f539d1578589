"""The console in a real browser: signing in, declaring, and the incident list and page kept live."""

import asyncio
import time
from pathlib import Path

from playwright.async_api import Dialog, expect

from tests.browser.console import DESKTOP, PHONE, Console, Pages, live, shoot, sign_in


async def test_s9_signing_in_with_a_token_keeps_only_an_httponly_session_cookie_and_returns_to_the_page_asked_for(
    pages: Pages, console: Console
) -> None:
    sam, token, incident = console.declared_by("Sam", "signin-servers", "Disk full on db-1")
    page = await pages.open()
    await sign_in(page, console, token, f"/incidents/{incident['id']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Disk full on db-1")
    cookies = await page.context.cookies()
    session = [c for c in cookies if c["name"] == "warroom_session"]
    assert len(session) == 1 and session[0]["httpOnly"] and session[0]["sameSite"] in ("Lax", "Strict")
    assert token not in session[0]["value"]
    html = await page.content()
    assert token not in html and token not in page.url
    stored = await page.evaluate("() => JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])")
    assert token not in stored and session[0]["value"] not in stored


async def test_a_wrong_token_is_refused_in_words_and_opens_nothing(pages: Pages, console: Console) -> None:
    page = await pages.open()
    await page.goto(console.url + "/")
    await page.get_by_label("Your API token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("unknown, revoked or expired")
    assert not [c for c in await page.context.cookies() if c["name"] == "warroom_session"]


async def test_r02_declaring_from_the_form_pages_the_aspects_sme_and_opens_the_incident_page(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, token = console.register("Sam")
    console.set_aspect("payments", sam)
    page = await pages.open()
    await sign_in(page, console, token, "/incidents/new")
    await page.get_by_label("What is happening?").fill("Card payments failing")
    await page.get_by_label("Which part of the company’s systems?").fill("payments")
    await expect(page.locator("#lookup")).to_contain_text("call Sam")
    await page.get_by_label("level 1 · Critical").check()
    await page.get_by_label("Description").fill("Every card payment answers 502 since 03:52.")
    await shoot(page, screenshots, "declare-desktop")
    await page.get_by_role("button", name="Declare and page").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Card payments failing")
    await expect(page.locator("#done")).to_contain_text("declared")
    await expect(page.locator("#timeline")).to_contain_text("declared it at level 1 · Critical")
    assert "/incidents/" in page.url


async def test_a_new_incident_appears_in_a_second_open_page_within_a_second_without_a_reload(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, token = console.register("Sam")
    console.set_aspect("network", sam)
    watching = await pages.open()
    await sign_in(watching, console, token)
    await live(watching)
    await watching.evaluate("() => { window.notReloaded = true; }")
    started = time.monotonic()
    incident = console.declare(token, "Core switch flapping", "network", severity=1)
    row = watching.locator(f"#incident-{incident['id']}")
    await row.wait_for(timeout=1000)
    assert time.monotonic() - started < 1.0
    await expect(row).to_contain_text("Core switch flapping")
    await expect(row).to_contain_text("Sam")
    assert await watching.evaluate("() => window.notReloaded === true")
    await shoot(watching, screenshots, "incident-list-desktop")


async def test_r03_the_manager_adds_a_worker_and_the_workers_status_update_shows_live_on_the_managers_page(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, sam_token = console.register("Sam")
    wendy, wendy_token = console.register("Wendy")
    console.set_aspect("storage", sam)
    incident = console.declare(sam_token, "Object store slow", "storage", severity=2)
    path = f"/incidents/{incident['id']}"
    manager = await pages.open()
    worker = await pages.open()
    await sign_in(manager, console, sam_token, path)
    await manager.locator("#action-add_worker summary").click()
    await manager.locator("#add_worker-person").fill(console.email_of(wendy))
    await manager.locator("#action-add_worker").get_by_role("button", name="Add a worker").click()
    await expect(manager.locator("#done")).to_contain_text("worker is added")
    await expect(manager.locator("#roles")).to_contain_text("Wendy")
    await live(manager)

    await sign_in(worker, console, wendy_token, path)
    await expect(worker.locator("#actions form[action$='/do/change_severity']")).to_have_count(0)
    for label, text in (
        ("What we learned", "The disks are fine; the metadata index is cold."),
        ("What we tried", "Warmed the index on one node."),
        ("Outcome of what we tried", "Latency on that node dropped to 40 ms."),
        ("What we are working on now", "Warming the other nodes."),
        ("What remains to be done", "Find out why the cache was dropped."),
    ):
        await worker.get_by_label(label, exact=True).fill(text)
    await worker.get_by_role("button", name="Post a status update").click()
    await expect(worker.locator("#done")).to_contain_text("status update is posted")

    entry = manager.locator("#timeline li", has_text="Wendy posted a status update")
    await entry.wait_for(timeout=2000)
    await expect(entry).to_contain_text("Warmed the index on one node.")
    await shoot(manager, screenshots, "incident-manager-desktop")
    await manager.evaluate("() => window.scrollTo(0, 0)")
    await shoot(manager, screenshots, "incident-manager-desktop-viewport", full_page=False)
    await shoot(worker, screenshots, "incident-worker-desktop")


async def test_a_worker_sees_no_severity_form_and_a_stranger_sees_nothing_to_do(pages: Pages, console: Console) -> None:
    sam, sam_token = console.register("Sam")
    wendy, wendy_token = console.register("Wendy")
    _, janitor_token = console.register("Jan")
    console.set_aspect("facilities", sam)
    incident = console.declare(sam_token, "Server room flooded", "facilities", severity=1)
    assert console.command(sam_token, incident["id"], "workers", {"person": wendy}).status_code == 200
    path = f"/incidents/{incident['id']}"
    for token, shown, hidden in (
        (wendy_token, ["post_status_update"], ["change_severity", "resolve", "add_worker"]),
        (janitor_token, [], ["post_status_update", "change_severity", "resolve", "give_severity_input"]),
        (sam_token, ["change_severity", "resolve", "add_worker"], ["post_status_update"]),
    ):
        page = await pages.open()
        await sign_in(page, console, token, path)
        for action in shown:
            await expect(page.locator(f"form[action$='/do/{action}']")).to_have_count(1)
        for action in hidden:
            await expect(page.locator(f"form[action$='/do/{action}']")).to_have_count(0)
        if not shown:
            await expect(page.locator("#actions")).to_contain_text("nothing for you to do")


async def test_s10_a_title_with_a_script_shows_as_text_and_runs_nowhere(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, token = console.register("Sam")
    console.set_aspect("xss", sam)
    title = "<script>alert(1)</script>"
    incident = console.declare(token, title, "xss")
    page = await pages.open()
    dialogs: list[str] = []

    async def dismissed(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismissed)
    await sign_in(page, console, token)
    await expect(page.locator(f"#incident-{incident['id']} a.title")).to_have_text(title)
    await page.goto(f"{console.url}/incidents/{incident['id']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await asyncio.sleep(0.3)
    assert dialogs == []
    assert await page.locator("script:not([src])").count() == 0


async def test_the_incident_page_reads_on_a_phone(pages: Pages, console: Console, screenshots: Path) -> None:
    sam, token, incident = console.declared_by("Sam", "phone-servers", "Checkout down in EU", severity=1)
    for viewport, name, dark in ((PHONE, "phone", False), (DESKTOP, "desktop", False), (PHONE, "phone-dark", True)):
        page = await pages.open(viewport, dark)
        await sign_in(page, console, token, f"/incidents/{incident['id']}")
        await shoot(page, screenshots, f"incident-paged-{name}")
        await page.goto(console.url + "/")
        await shoot(page, screenshots, f"incident-list-{name}")
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page scrolls sideways at {viewport['width']} px"
