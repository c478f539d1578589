"""Phones through Apprise, in-process on real PostgreSQL and NATS with a real local receiver behind
Apprise's generic JSON target (json://host:port/path): a page at any hour goes to the person's phone and
sms URLs too, under the same policy, retries and delivery log; a level's observer entry on sms reaches
the person's sms URL; a page in waking hours does not ring a phone; a private server is refused (S4)."""

from datetime import UTC, datetime

from tests.support.incident import eventually
from tests.support.notifier import Receiver, deliveries, level, notifier, process


def _apprise(body: dict) -> dict:
    """What Apprise's JSON target posts: its version, title, message and type."""
    return {key: body[key] for key in ("version", "title", "message", "type")}


async def test_r11_a_page_at_any_hour_rings_the_persons_phones_too(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(process([level(1, immediacy="any_hour")]))
        urls = {"phone": f"json://127.0.0.1:{hook.port}/phone", "sms": f"json://127.0.0.1:{hook.port}/sms"}
        await run.producer.person("alice", hook.url("/alice"), apprise_urls=urls)
        await run.producer.declare("inc-1", "alice", title="Checkout down")
        found = await eventually(lambda: len(hook.to("/phone")) == 1 and len(hook.to("/sms")) == 1, timeout=15)
        assert found
        [rung] = hook.to("/phone")
        said = _apprise(rung.body)
        assert said["title"] == "[Warroom] Checkout down: paged" and said["type"] == "info"
        assert said["message"].startswith('Incident "Checkout down" (level 1, Critical) was declared')
        assert said["message"].endswith("\nIncident: http://127.0.0.1:8080/incidents/inc-1")
        assert [r.body["reason"] for r in hook.to("/alice")] == ["paged"]  # and the webhook, as ever

        async def delivered() -> list[str]:
            log = await deliveries(run.api, person="alice")()
            return sorted(d["channel"] for d in log if d["state"] == "delivered")

        assert await eventually(lambda: _three(delivered)) == ["phone", "sms", "webhook"]  # logged, each once


async def _three(delivered):
    found = await delivered()
    return found if len(found) == 3 else None


async def test_r07_an_observer_entry_on_sms_reaches_the_persons_sms_url_only(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        observers = [{"person": "olga", "channel": "sms", "immediacy": "any_hour"}]
        await run.organisation(process([level(1, observers=observers)]), alice=hook.url("/alice"))
        await run.producer.person("olga", hook.url("/olga"), apprise_urls={"sms": f"json://127.0.0.1:{hook.port}/sms"})
        await run.producer.declare("inc-1", "alice")
        [text] = await eventually(lambda: hook.to("/sms"), timeout=15)
        assert "declared" in _apprise(text.body)["message"]
        await eventually(run.caught_up)
        assert hook.to("/olga") == []  # the sms was her channel for it, not her webhook


async def test_r11_a_page_in_waking_hours_rings_no_phone(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(process([level(1, immediacy="waking_hours")]))
        phone = {"phone": f"json://127.0.0.1:{hook.port}/phone"}
        # Default waking hours (07:00-22:00), in a zone where it is now about noon: the page goes now.
        zone = _a_zone_where_it_is_midday()
        await run.producer.person("alice", hook.url("/alice"), apprise_urls=phone, timezone=zone)
        await run.producer.declare("inc-1", "alice")
        await eventually(lambda: hook.to("/alice"), timeout=15)
        assert [d["channel"] for d in await deliveries(run.api, person="alice")()] == ["webhook"]


async def test_s4_a_phone_on_a_private_server_is_refused_and_logged(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(process([level(1)]))
        await run.producer.person("alice", hook.url("/alice"), apprise_urls={"phone": "ntfys://10.1.2.3/alerts"})
        await run.producer.declare("inc-1", "alice")

        async def refused() -> list[dict]:
            log = await deliveries(run.api, person="alice")()
            return [d for d in log if d["channel"] == "phone" and d["state"] == "refused"]

        [phone] = await eventually(refused)
        assert "10.1.2.3" in phone["last_error"] and phone["attempts"] == 0


def _a_zone_where_it_is_midday() -> str:
    """Etc/GMT-N is N hours ahead of UTC (the sign is POSIX's): the zone whose clock now reads 12 o'clock."""
    ahead = (12 - datetime.now(UTC).hour + 11) % 24 - 11  # -11..12
    return f"Etc/GMT{-ahead:+d}"
