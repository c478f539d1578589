"""Fail fast when PostgreSQL is gone: a request is answered 503 problem+json with Retry-After
within about two seconds — never left hanging — and the service recovers by itself once the
database is back, with no restart."""

import asyncio
import time

import httpx

from services.timers.bootstrap import create_app as timers_app
from shared.settings import Settings
from tests.support.incident import auth, eventually, incident_service, register
from tests.support.timers import TOKEN, level, process, signed_in, streams

QUICKLY = 2.5  # seconds: "about two", with room for a slow test machine


async def _timed(request) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


def _assert_fast_503(response: httpx.Response, took: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) >= 1
    assert took < QUICKLY, f"answered after {took:.1f} s"


async def _org(client) -> str:
    person, token = await register(client, "Sam")
    assert (await client.put("/v1/directory/aspects/servers", json={"smes": [person]})).status_code == 200
    return token


DECLARATION = {"title": "Checkout down", "description": "500s", "aspect": "servers", "severity": 1}


async def test_with_postgresql_stopped_the_incident_service_answers_503_within_two_seconds_and_recovers(
    database_url, nats_url, pg_server
):
    async with incident_service(database_url, nats_url) as (client, _):
        token = await _org(client)
        incident = (await client.post("/v1/incidents", json=DECLARATION, headers=auth(token))).json()["id"]

        pg_server.stop()
        try:
            # Concurrent, as a busy service would have them: reads, commands, a fresh sign-in.
            answers = await asyncio.gather(
                _timed(client.get(f"/v1/incidents/{incident}")),
                _timed(client.post("/v1/incidents", json=DECLARATION, headers=auth(token))),
                _timed(client.post(f"/v1/incidents/{incident}/acknowledge", headers=auth(token))),
                *(_timed(client.get("/v1/incidents")) for _ in range(12)),
                _timed(
                    client.post(
                        "/v1/incidents",
                        json=DECLARATION,
                        headers={**auth(token), "Idempotency-Key": "during-the-outage"},
                    )
                ),
            )
        finally:
            pg_server.start()
        for response, took in answers:
            _assert_fast_503(response, took)

        async def served():
            return (await client.get(f"/v1/incidents/{incident}")).status_code == 200

        await eventually(served, timeout=30, interval=0.5)
        declared = await client.post("/v1/incidents", json=DECLARATION, headers=auth(token))
        assert declared.status_code == 201, declared.text


async def test_commands_in_flight_when_postgresql_crashes_are_answered_within_two_seconds_not_held_until_it_returns(
    database_url, nats_url, pg_server
):
    async with incident_service(database_url, nats_url, rate_limit_per_second=1e6, rate_limit_burst=1_000_000) as (
        client,
        _,
    ):
        token = await _org(client)
        incident = (await client.post("/v1/incidents", json=DECLARATION, headers=auth(token))).json()["id"]
        answers: list[tuple[float, int, float]] = []  # (sent at, status, seconds taken)
        stopping = asyncio.Event()

        async def load(n: int) -> None:
            while not stopping.is_set():
                sent = time.monotonic()
                if n % 2:
                    response = await client.post("/v1/incidents", json=DECLARATION, headers=auth(token))
                else:
                    response = await client.get(f"/v1/incidents/{incident}")
                answers.append((sent, response.status_code, time.monotonic() - sent))
                await asyncio.sleep(0.01)

        tasks = [asyncio.create_task(load(n)) for n in range(8)]
        try:
            await asyncio.sleep(1.0)
            crashed = time.monotonic()
            pg_server.kill()  # SIGKILL of the postmaster and its backends, mid-command
            try:
                await asyncio.sleep(5.0)  # down longer than a request may wait
            finally:
                pg_server.start()
            await eventually(lambda: any(s < 500 and t > crashed + 5 for t, s, _ in answers), timeout=30)
        finally:
            stopping.set()
            await asyncio.gather(*tasks)
        around = [(sent - crashed, status, took) for sent, status, took in answers if sent > crashed - 1]
        assert any(status == 503 for _, status, _ in around)
        slow = [answer for answer in around if answer[2] > QUICKLY]
        assert not slow, f"(sent after the crash, status, seconds): {slow[:5]}"
        assert {status for _, status, _ in around} <= {200, 201, 503}


async def test_with_postgresql_stopped_a_consuming_service_answers_503_within_two_seconds_and_recovers(
    database_url, nats_url, pg_server
):
    app = timers_app(Settings(database_url=database_url, nats_url=nats_url, poll_interval=0.05))
    async with streams(nats_url) as (publish, _, _), app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://timers", headers=auth(TOKEN)
        ) as client:
            await publish(*publish.events.organisation(process([level(1)])))
            await eventually(lambda: signed_in(client))

            pg_server.stop()
            try:
                answers = await asyncio.gather(
                    *(_timed(client.get("/v1/timers", params={"incident_id": "x"})) for _ in range(15))
                )
            finally:
                pg_server.start()
            for response, took in answers:
                _assert_fast_503(response, took)
            await eventually(lambda: signed_in(client), timeout=30, interval=0.5)


async def test_during_a_nats_outage_each_kind_of_error_is_logged_at_most_once_per_interval_with_a_count(
    database_url, nats_url, nats_server
):
    from collections import Counter

    import structlog

    app = timers_app(Settings(database_url=database_url, nats_url=nats_url, poll_interval=0.05))
    async with incident_service(database_url, nats_url) as (client, _), app.router.lifespan_context(app):
        await _org(client)
        with structlog.testing.capture_logs() as logged:
            nats_server.stop()
            try:
                await asyncio.sleep(2.0)
                # Work for the relay while NATS is away: it must keep trying, quietly.
                assert (await client.post("/v1/incidents", json=DECLARATION)).status_code == 201
                await asyncio.sleep(3.0)
            finally:
                nats_server.start()
            await asyncio.sleep(1.0)
        said = [entry for entry in logged if entry["log_level"] in ("warning", "error")]
        kinds = Counter(
            (entry["event"], entry.get("consumer") or entry.get("connection"), entry.get("error", "")[:40])
            for entry in said
        )
        assert said, "the outage was not reported at all"
        repeated = {kind: count for kind, count in kinds.items() if count > 1}
        assert not repeated, repeated  # 6 s of outage, one line per kind per 10 s at most
