"""Sessions in a real browser (S9): signing out, revocation, one-time links by email; and the links a real
notification carries, opened in the browser."""

import re
from pathlib import Path

from playwright.async_api import expect

from tests.browser.console import PHONE, Console, Pages, live, shoot, sign_in
from tests.support.incident import eventually


async def test_s9_signing_out_ends_the_session_and_its_cookie_opens_nothing_any_more(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    _, token = console.register("Olga")
    page = await pages.open()
    await sign_in(page, console, token)
    kept = [c for c in await page.context.cookies() if c["name"] == "warroom_session"]
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_contain_text("You are signed out")
    await shoot(page, screenshots, "signin-desktop")
    assert not [c for c in await page.context.cookies() if c["name"] == "warroom_session"]

    # The old cookie, put back by hand: its session is over.
    await page.context.add_cookies([{"name": "warroom_session", "value": kept[0]["value"], "url": console.url}])
    await page.goto(console.url + "/people")
    await expect(page.get_by_label("Your API token")).to_be_visible()
    assert "next=%2Fpeople" in page.url


async def test_s9_revoking_the_token_signed_in_with_ends_the_session_at_once(pages: Pages, console: Console) -> None:
    person, token = console.register("Rita")
    page = await pages.open()
    await sign_in(page, console, token)
    await live(page)
    tokens = console.admin.get(f"/v1/people/{person}/tokens").json()["tokens"]
    signed_in_with = [t["id"] for t in tokens if t["parent"] is None]
    assert console.admin.delete(f"/v1/tokens/{signed_in_with[0]}").status_code == 204
    await page.goto(console.url + "/directory")
    await expect(page.get_by_label("Your API token")).to_be_visible()
    states = {t["id"]: t["revoked"] for t in console.admin.get(f"/v1/people/{person}/tokens").json()["tokens"]}
    assert all(states.values()), "the session token is revoked with its parent"


async def test_s9_a_one_time_link_by_email_signs_in_once_and_lands_where_it_was_asked(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    person, token = console.register("Emil")
    address = console.email_of(person)
    page = await pages.open(PHONE)
    await page.goto(console.url + "/directory")
    await page.get_by_label("Your email address").fill(address)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await expect(page.get_by_role("status")).to_contain_text("on its way")
    await page.goto(console.url + "/")
    await page.get_by_label("Your email address").fill("nobody-known@example.com")
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await expect(page.get_by_role("status")).to_contain_text("on its way")  # the same answer

    mail = await eventually(lambda: console.mail.to(address), timeout=10)
    text = mail[0].get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"http://\S+/session/link/\S+", text)
    assert found is not None, text
    link = found.group(0)
    assert not console.mail.to("nobody-known@example.com")

    await page.goto(link)  # opening it signs nobody in (a mail scanner may open it)
    await shoot(page, screenshots, "signin-link-phone")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(console.url + "/directory")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Who to call")

    other = await pages.open()
    await other.goto(link)
    await expect(other.get_by_role("alert")).to_contain_text("expired or was used")


async def test_r11_the_acknowledge_link_of_a_real_page_acknowledges_in_the_browser_and_the_incident_link_opens(
    pages: Pages, console: Console, screenshots: Path
) -> None:
    sam, token, incident = console.declared_by("Pat", "ack-links", "Login page 500s", severity=1)
    paged = await eventually(lambda: [b for b in console.phones.bodies("/Pat") if b["reason"] == "paged"], timeout=20)
    links = paged[0]["links"]
    page = await pages.open(PHONE)
    await page.goto(links["acknowledge"])
    await shoot(page, screenshots, "acknowledge-link-phone")
    assert not [e for e in console.events(incident["id"]) if e["type"].endswith(".acknowledged.v1")]
    await page.get_by_role("button", name=re.compile("Acknowledge")).click()
    await expect(page.locator("body")).to_contain_text("acknowledged")
    acknowledged = [e for e in console.events(incident["id"]) if e["type"].endswith(".acknowledged.v1")]
    assert [e["data"]["person"] for e in acknowledged] == [sam]

    await page.goto(links["incident"])  # the email's link to the console: sign in, then land there
    await page.get_by_label("Your API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(links["incident"])
    await expect(page.locator("#timeline")).to_contain_text("Pat acknowledged the page")
    await expect(page.locator("form[action$='/do/acknowledge']")).to_have_count(0)
