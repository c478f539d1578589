"""Two notifier replicas, separate processes sharing the durable consumers and the database: each
notice is sent once; when one replica dies the other carries on alone."""

import re
from functools import partial

import httpx
import nats

from shared import natsio
from tests.support.incident import eventually
from tests.support.notifier import ADMIN_TOKEN, SECRET, Producer
from tests.support.processes import ServiceProcess
from tests.support.webhook import WebhookReceiver


def delivered_here(metrics: str) -> int:
    found = re.search(r'warroom_notifier_attempts_total\{channel="webhook",outcome="delivered"\} ([0-9.]+)', metrics)
    return int(float(found.group(1))) if found else 0


async def test_f4_two_notifier_processes_send_every_page_once(database_url, nats_url, tmp_path):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_LOG_LEVEL": "warning",
        "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_ACK_WAIT": "3",
        "WARROOM_NOTIFIER_SIGNING_SECRETS": SECRET,
    }
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    replicas = [ServiceProcess("notifier", env, tmp_path / name) for name in ("a", "b")]
    nc = await nats.connect(nats_url)
    try:
        with WebhookReceiver() as receiver:
            for replica in replicas:
                replica.start()
            producer = Producer(partial(natsio.publish, nc.jetstream()))
            await producer.organisation(alice=f"{receiver.url}/alice")
            admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}

            async def organisation_applied() -> bool:
                # The admin's token is the organisation stream's last event: once it signs in on both replicas,
                # Alice is known. (Its events and the incidents' are separate streams: a page applied first
                # would be skipped, Alice being unknown yet.)
                async with httpx.AsyncClient(headers=admin, timeout=10) as client:
                    answers = [await client.get(f"{r.url}/v1/deliveries") for r in replicas]
                return all(answer.status_code == 200 for answer in answers)

            await eventually(organisation_applied, timeout=30)
            for n in range(30):
                await producer.declare(f"inc-{n}", "alice")
            await eventually(lambda: len(receiver.received) >= 30, timeout=30)

            async with httpx.AsyncClient(headers=admin, timeout=10) as client:
                counts = [delivered_here((await client.get(f"{r.url}/metrics")).text) for r in replicas]
                assert sum(counts) == 30, counts

                replicas[0].kill()
                for n in range(30, 40):
                    await producer.declare(f"inc-{n}", "alice")
                await eventually(lambda: len(receiver.received) >= 40, timeout=30)

                async def all_delivered():
                    response = await client.get(f"{replicas[1].url}/v1/deliveries", params={"limit": 100})
                    found = response.json()["deliveries"] if response.status_code == 200 else []
                    return found if len(found) == 40 and {d["state"] for d in found} == {"delivered"} else None

                found = await eventually(all_delivered, timeout=30)

            webhook_ids = [r["headers"]["webhook-id"] for r in receiver.received]
            assert len(webhook_ids) == len(set(webhook_ids)) == 40
            assert set(webhook_ids) == {d["id"] for d in found}
    finally:
        for replica in replicas:
            replica.stop()
        await nc.close()
