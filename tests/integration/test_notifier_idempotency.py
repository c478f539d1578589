"""F10 in the notifier: an Idempotency-Key makes its POSTs safe to retry, answered as every service
answers them (shared/idempotency.py), and the key's answer commits with the work or not at all."""

import asyncio
import uuid

import httpx

from shared import idempotency
from tests.support.incident import eventually
from tests.support.notifier import SECRET, admin, notifier


def subscription(url: str = "http://127.0.0.1:9/hook") -> dict:
    return {"url": url, "event_types": ["warroom.incident.*"], "secret": SECRET}


def keyed(key: str) -> dict[str, str]:
    return {**admin(), "Idempotency-Key": key}


async def subscriptions(api) -> list[dict]:
    return (await api.get("/v1/subscriptions", headers=admin())).json()["subscriptions"]


async def test_f10_the_notifier_replays_with_idempotent_replayed_and_answers_409_while_the_first_runs(
    database_url, nats_url, monkeypatch
):
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST", "300ms")
    async with notifier(database_url, nats_url) as run:
        await run.organisation()
        pool, key = run.app.state.pool, str(uuid.uuid4())
        # Another session holds the subscriptions table: the first request runs, holding its key, until it lets go.
        async with pool.acquire() as blocker:
            holding = blocker.transaction()
            await holding.start()
            await blocker.execute("LOCK TABLE subscriptions IN EXCLUSIVE MODE")
            try:
                first = asyncio.create_task(run.api.post("/v1/subscriptions", json=subscription(), headers=keyed(key)))
                await eventually(
                    lambda: pool.fetchval(
                        "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE 'INSERT INTO subscriptions%'"
                    )
                )
                busy = await asyncio.wait_for(
                    run.api.post("/v1/subscriptions", json=subscription(), headers=keyed(key)), timeout=10
                )
                assert busy.status_code == 409, busy.text
                assert busy.headers["retry-after"] == "1" and key in busy.json()["detail"]
                assert not first.done()
            finally:
                await holding.rollback()
        created = await first
        replayed = await run.api.post("/v1/subscriptions", json=subscription(), headers=keyed(key))

        assert created.status_code == replayed.status_code == 201, created.text
        assert replayed.json() == created.json() and replayed.headers["location"] == created.headers["location"]
        assert replayed.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in created.headers
        assert [s["id"] for s in await subscriptions(run.api)] == [created.json()["id"]]


async def test_f10_a_notifier_post_whose_work_fails_records_no_key_and_a_retry_runs_it(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation()
        pool = run.app.state.pool
        await pool.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
        )
        await pool.execute("CREATE TRIGGER refuse BEFORE INSERT ON subscriptions EXECUTE FUNCTION refuse()")
        unraised = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=run.app, raise_app_exceptions=False), base_url="http://notifier"
        )
        async with unraised:
            failed = await unraised.post("/v1/subscriptions", json=subscription(), headers=keyed("atomic"))
        assert failed.status_code == 500
        assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0
        assert await subscriptions(run.api) == []

        await pool.execute("DROP TRIGGER refuse ON subscriptions")
        retried = await run.api.post("/v1/subscriptions", json=subscription(), headers=keyed("atomic"))
        assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
        assert [s["id"] for s in await subscriptions(run.api)] == [retried.json()["id"]]


async def test_f10_a_notifier_answer_that_cannot_be_recorded_undoes_its_work(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation()
        pool = run.app.state.pool
        await pool.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
        )
        await pool.execute("CREATE TRIGGER refuse BEFORE INSERT ON idempotency_keys EXECUTE FUNCTION refuse()")
        unraised = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=run.app, raise_app_exceptions=False), base_url="http://notifier"
        )
        async with unraised:
            failed = await unraised.post("/v1/subscriptions", json=subscription(), headers=keyed("atomic"))
        assert failed.status_code == 500
        assert await subscriptions(run.api) == []  # the subscription went with its key's answer
        await pool.execute("DROP TRIGGER refuse ON idempotency_keys")


async def test_f10_a_notifier_refusal_is_replayed_and_changes_nothing(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation()
        missing = "/v1/deliveries/no-such-delivery/redeliver"
        refused = await run.api.post(missing, headers=keyed("refused"))
        replayed = await run.api.post(missing, headers=keyed("refused"))
        assert refused.status_code == replayed.status_code == 404
        assert replayed.json() == refused.json() and replayed.headers["idempotent-replayed"] == "true"
        assert (await run.api.get("/v1/deliveries", headers=admin())).json()["deliveries"] == []


async def test_f10_a_notifier_key_is_answered_for_24_hours_then_counts_as_new(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation()
        pool = run.app.state.pool
        first = await run.api.post("/v1/subscriptions", json=subscription(), headers=keyed("daily"))
        kept = await pool.fetchval("SELECT expires_at - now() FROM idempotency_keys WHERE key = 'daily'")
        assert 23.9 * 3600 < kept.total_seconds() <= 24 * 3600
        again = await run.api.post("/v1/subscriptions", json=subscription(), headers=keyed("daily"))
        await pool.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        later = await run.api.post("/v1/subscriptions", json=subscription(), headers=keyed("daily"))

        assert first.status_code == again.status_code == later.status_code == 201
        assert again.json() == first.json() and later.json()["id"] != first.json()["id"]
        assert len(await subscriptions(run.api)) == 2
        assert not await pool.fetchval("SELECT to_regclass('answered_requests') IS NOT NULL")
