"""The console's other pages in a real browser: a refusal in words, the post-mortem draft through the
post-mortem service, the directory with its gaps, and people managed by an admin and by themselves."""

from pathlib import Path

from playwright.async_api import expect

from tests.browser.console import PHONE, Console, Pages, shoot, sign_in
from tests.support.incident import ADMIN_TOKEN

NARRATIVES = {
    "Cause": "A certificate expired on the load balancer.",
    "Prevention": "Alert 30 days before any certificate expires.",
    "Handling lessons": "The status updates came every 30 minutes as they should.",
}


async def test_r06_a_refused_status_update_says_why_with_its_rule_and_keeps_what_was_typed(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, sam_token = console.register("Sam")
    wes, wes_token = console.register("Wes")
    console.set_aspect("refusals", sam)
    incident = console.declare(sam_token, "Queue backlog growing", "refusals")
    assert console.command(sam_token, incident["id"], "workers", {"person": wes}).status_code == 200
    page = await pages.open(PHONE)
    await sign_in(page, console, wes_token, f"/incidents/{incident['id']}")
    await page.get_by_label("What we learned", exact=True).fill("The consumer is stuck on one message.")
    for label in ("What we tried", "Outcome of what we tried", "What we are working on now"):
        await page.get_by_label(label, exact=True).fill("   ")
    await page.get_by_label("What remains to be done", exact=True).fill("Everything else.")
    await page.locator("#actions form").evaluate("form => form.noValidate = true")  # past the browser's check
    await page.get_by_role("button", name="Post a status update").click()
    refusal = page.locator("#refusal")
    await expect(refusal).to_contain_text("Refused (R06)")
    await expect(refusal).to_be_focused()
    await expect(page.get_by_label("What we learned", exact=True)).to_have_value(
        "The consumer is stuck on one message."
    )
    await shoot(page, screenshots, "refusal-phone")
    assert not [e for e in console.events(incident["id"]) if e["type"].endswith("status_updated.v1")]


async def test_r16_the_post_mortem_draft_is_written_given_an_action_item_and_published_from_the_console(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, token, incident = console.declared_by("Sam", "postmortems", "TLS errors on the API")
    resolved = console.command(
        token, incident["id"], "resolve", {"resolution": "Renewed the certificate", "test_plan": "curl -v from 3 sites"}
    )
    assert resolved.status_code == 200, resolved.text
    page = await pages.open()
    await sign_in(page, console, token, f"/incidents/{incident['id']}/postmortem")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("TLS errors on the API")
    for title, text in NARRATIVES.items():
        await page.get_by_label(title, exact=True).fill(text)
        await page.get_by_role("button", name=f"Save {title.lower()}").click()
        await expect(page.locator("#done")).to_contain_text("narrative is saved")
    await page.get_by_text("Add an action item").click()
    await page.get_by_label("What is to be done").fill("Certificate expiry alerts")
    await page.get_by_label("Owner").fill(console.email_of(sam))
    await page.get_by_label("Due").fill("2030-01-31")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.locator("#done")).to_contain_text("action item is added")
    await expect(page.locator("ul.items")).to_contain_text("Certificate expiry alerts")
    await shoot(page, screenshots, "postmortem-desktop")
    await page.get_by_role("button", name="Publish the post-mortem").click()
    await expect(page.locator("#done")).to_contain_text("published")
    await expect(page.locator("form[action$='/publish']")).to_have_count(0)


async def test_r10_the_directory_shows_who_to_call_and_the_gaps_and_an_admin_sets_an_aspect(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, _ = console.register("Sam")
    console.set_aspect("empty-aspect")
    page = await pages.open()
    await sign_in(page, console, ADMIN_TOKEN, "/directory")
    await expect(page.get_by_text("Aspects without an SME")).to_contain_text("empty-aspect")
    await page.get_by_label("Aspect", exact=True).fill("empty-aspect")
    await page.get_by_label("SMEs, one per line, first paged first").fill(console.email_of(sam))
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("saved")
    await expect(page.get_by_role("row", name="empty-aspect")).to_contain_text("Sam")
    await shoot(page, screenshots, "directory-desktop")


async def test_people_a_person_edits_their_own_hours_and_an_admin_deactivates_them(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    person, token = console.register("Hana")
    own = await pages.open(PHONE)
    admin = await pages.open()
    await sign_in(own, console, token, f"/people/{person}")
    await own.get_by_text("Edit contact details and hours").click()
    await own.get_by_label("From").fill("07:00")
    await own.get_by_label("Sat").check()
    await own.get_by_role("button", name="Save").click()
    await expect(own.get_by_role("status")).to_contain_text("Saved")
    await expect(own.locator("dl.facts-list")).to_contain_text("07:00")
    await shoot(own, screenshots, "person-phone")
    assert console.admin.get(f"/v1/people/{person}").json()["working_hours"]["days"] == [1, 2, 3, 4, 5, 6]

    await sign_in(admin, console, ADMIN_TOKEN, f"/people/{person}")
    await admin.get_by_role("button", name="Deactivate Hana").click()
    await expect(admin.get_by_role("status")).to_contain_text("Hana is deactivated")
    await own.reload()
    await expect(own.get_by_label("Your API token")).to_be_visible()  # her session ended with her tokens


UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
  .map(el => el.outerHTML.slice(0, 120))"""


async def test_every_page_labels_its_fields_has_landmarks_and_starts_with_a_skip_link(
    pages: Pages, console: Console
) -> None:
    sam, token, incident = console.declared_by("Sam", "labels", "Labels everywhere")
    page = await pages.open()
    await page.goto(console.url + "/")
    for path in ("/", "/incidents/new", f"/incidents/{incident['id']}", "/directory", "/people", f"/people/{sam}"):
        if path == "/":
            assert await page.evaluate(UNLABELLED) == [], "the sign-in page"
            await sign_in(page, console, ADMIN_TOKEN)
        await page.goto(console.url + path)
        assert await page.evaluate(UNLABELLED) == [], path
        for landmark in ("banner", "navigation", "main"):
            await expect(page.get_by_role(landmark).first).to_be_visible()
        await page.keyboard.press("Tab")
        assert await page.evaluate("() => document.activeElement.textContent") == "Skip to content", path
