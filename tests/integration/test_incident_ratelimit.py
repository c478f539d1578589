"""S7: a rate limit per token, 429 with Retry-After, counted in PostgreSQL so replicas share it; failed
and missing authentications limited per client address, with a row per real token or address only."""

import asyncio
from contextlib import asynccontextmanager

import httpx

from services.incident.bootstrap import create_app
from shared.ratelimit import forget_full_buckets, lease_size
from shared.settings import Settings
from tests.support.incident import ADMIN_TOKEN, auth, eventually, register, settings


@asynccontextmanager
async def limited_service(database_url: str, nats_url: str, per_second: float, burst: int):
    """The incident service in-process with the given limits; a client signed in as admin."""
    limits = settings(database_url, nats_url).model_copy(
        update={"rate_limit_per_second": per_second, "rate_limit_burst": burst}
    )
    app = create_app(limits)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://incident", headers=auth(ADMIN_TOKEN)
        ) as client,
    ):
        yield client, app


async def _spend(client, count: int, token: str | None = None) -> list[int]:
    headers = auth(token) if token else {}
    return [(await client.get("/v1/process", headers=headers)).status_code for _ in range(count)]


async def test_s7_a_token_past_its_burst_gets_429_with_a_problem_and_retry_after(database_url, nats_url):
    async with limited_service(database_url, nats_url, per_second=0.1, burst=5) as (client, _):
        assert await _spend(client, 5) == [200] * 5
        refused = await client.get("/v1/process")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["status"] == 429
        # At 0.1 tokens per second the next whole token is up to 10 s away; never "0".
        assert 1 <= int(refused.headers["Retry-After"]) <= 10
        refused_post = await client.post("/v1/incidents", json={"title": "x", "aspect": "servers", "severity": 1})
        assert refused_post.status_code == 429


async def test_s7_concurrent_requests_never_take_more_than_the_burst(database_url, nats_url):
    async with limited_service(database_url, nats_url, per_second=0.01, burst=10) as (client, _):
        answers = await asyncio.gather(*(client.get("/v1/process") for _ in range(30)))
        assert sorted(a.status_code for a in answers) == [200] * 10 + [429] * 20


async def test_s7_each_token_has_its_own_bucket_and_health_is_never_limited(database_url, nats_url):
    async with limited_service(database_url, nats_url, per_second=0.01, burst=6) as (client, _):
        _, token = await register(client, "Wes")  # two of the admin's six requests
        assert await _spend(client, 4) == [200] * 4
        assert (await client.get("/v1/process")).status_code == 429
        assert await _spend(client, 3, token) == [200] * 3
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            assert (await client.get(path)).status_code == 200, path
        # Without a token (or with an unknown one) the answer is 401: the token's bucket is not drawn from.
        anonymous = await client.get("/v1/process", headers={"Authorization": ""})
        assert anonymous.status_code == 401


async def test_s7_the_bucket_refills_at_the_sustained_rate(database_url, nats_url):
    async with limited_service(database_url, nats_url, per_second=2, burst=2) as (client, _):
        statuses = await _spend(client, 20)
        assert 429 in statuses
        # A refused request takes no token, so polling does not delay the refill.
        await eventually(lambda: _answered_ok(client), timeout=10)


async def _answered_ok(client) -> bool:
    return (await client.get("/v1/process")).status_code == 200


async def test_s7_replicas_draw_from_one_bucket_per_token(database_url, nats_url):
    async with (
        limited_service(database_url, nats_url, per_second=0.01, burst=5) as (first, _),
        limited_service(database_url, nats_url, per_second=0.01, burst=5) as (second, _),
    ):
        assert await _spend(first, 3) == [200] * 3
        assert await _spend(second, 2) == [200] * 2
        assert (await first.get("/v1/process")).status_code == 429
        assert (await second.get("/v1/process")).status_code == 429


async def test_s7_a_generous_limit_is_drawn_a_lease_at_a_time_so_most_requests_cost_no_statement(
    database_url, nats_url
):
    async with limited_service(database_url, nats_url, per_second=50, burst=200) as (client, app):
        _, token = await register(client, "Lena")
        assert await _spend(client, 7, token) == [200] * 7
        # One statement took ten tokens from the full bucket; the six requests after it spent the lease.
        row = await app.state.pool.fetchrow(
            "SELECT tokens, granted FROM rate_limits WHERE caller = sha256(convert_to($1, 'UTF8'))", token
        )
        assert (row["tokens"], row["granted"]) == (190, 10)


async def test_s7_requests_arriving_together_take_one_lease_between_them_not_one_each(database_url, nats_url):
    async with limited_service(database_url, nats_url, per_second=50, burst=200) as (client, app):
        _, token = await register(client, "Amal")
        # 60 at once (an Alertmanager posting every group): one of them asks for a lease, the others one token.
        answers = await asyncio.gather(*(client.get("/v1/process", headers=auth(token)) for _ in range(60)))
        assert [a.status_code for a in answers] == [200] * 60
        tokens = await app.state.pool.fetchval(
            "SELECT tokens FROM rate_limits WHERE caller = sha256(convert_to($1, 'UTF8'))", token
        )
        assert tokens >= 200 - 60 - 9  # at most one lease's unused tokens beyond what was used


def test_s7_a_lease_is_a_few_tokens_when_the_limit_is_generous_and_one_when_it_is_tight():
    assert lease_size(50, 200) == 10
    assert lease_size(1e6, 1_000_000) == 10
    assert lease_size(5, 20) == 1
    assert lease_size(100, 2) == 1
    assert lease_size(0.1, 5) == 1


async def test_s7_buckets_that_refilled_completely_are_forgotten(database_url, nats_url):
    async with limited_service(database_url, nats_url, per_second=100, burst=2) as (client, app):
        await _spend(client, 2)
        limits = Settings(
            rate_limit_per_second=100, rate_limit_burst=2, auth_failures_per_second=100, auth_failure_burst=2
        )
        cleanup = asyncio.create_task(forget_full_buckets(app.state.pool, limits, every=0.05))
        try:  # full again after 2 / 100 s: the row goes, and the next request finds a full bucket
            await eventually(lambda: app.state.pool.fetchval("SELECT count(*) = 0 FROM rate_limits"))
        finally:
            cleanup.cancel()
        assert await _spend(client, 2) == [200, 200]


def test_s7_limits_default_to_50_per_second_bursts_of_200_and_are_configurable(monkeypatch):
    defaults = Settings()
    assert (defaults.rate_limit_per_second, defaults.rate_limit_burst) == (50, 200)
    monkeypatch.setenv("WARROOM_RATE_LIMIT_PER_SECOND", "5")
    monkeypatch.setenv("WARROOM_RATE_LIMIT_BURST", "20")
    configured = Settings()
    assert (configured.rate_limit_per_second, configured.rate_limit_burst) == (5, 20)


@asynccontextmanager
async def failure_limited_service(database_url: str, nats_url: str, per_second: float, burst: int):
    limits = settings(database_url, nats_url).model_copy(
        update={"auth_failures_per_second": per_second, "auth_failure_burst": burst}
    )
    app = create_app(limits)
    async with app.router.lifespan_context(app):
        yield app


def _client(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://incident"
    )


async def test_s7_failed_and_missing_authentications_are_limited_per_client_address(database_url, nats_url):
    async with failure_limited_service(database_url, nats_url, per_second=0.1, burst=3) as app:
        async with _client(app, "203.0.113.7") as attacker, _client(app, "198.51.100.1") as neighbour:
            guesses = [(await attacker.get("/v1/process", headers=auth(f"guess-{n}"))).status_code for n in range(3)]
            assert guesses == [401] * 3
            refused = await attacker.get("/v1/process", headers=auth("guess-3"))
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert 1 <= int(refused.headers["Retry-After"]) <= 10
            assert (await attacker.get("/v1/process")).status_code == 429  # no token at all: the same budget
            # A valid token from the same address is still served; another address has its own budget.
            assert (await attacker.get("/v1/process", headers=auth(ADMIN_TOKEN))).status_code == 200
            assert (await neighbour.get("/v1/process", headers=auth("guess-x"))).status_code == 401


async def test_s7_an_ipv6_client_is_counted_by_its_64_prefix(database_url, nats_url):
    async with failure_limited_service(database_url, nats_url, per_second=0.1, burst=2) as app:
        statuses = []
        for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"):
            async with _client(app, host) as client:
                statuses.append((await client.get("/v1/process", headers=auth("guess"))).status_code)
        assert statuses == [401, 401, 429]


async def test_s7_made_up_tokens_add_no_row_each_to_the_rate_limit_table(database_url, nats_url):
    async with limited_service(database_url, nats_url, per_second=50, burst=200) as (client, app):
        assert (await client.get("/v1/process")).status_code == 200  # the admin's own bucket
        for n in range(25):  # within the address's budget
            assert (await client.get("/v1/process", headers=auth(f"made-up-{n}"))).status_code == 401
        # One row for the real token, one for the address the failures came from.
        assert await app.state.pool.fetchval("SELECT count(*) FROM rate_limits") == 2


def test_s7_failed_authentication_limits_default_and_are_configurable(monkeypatch):
    defaults = Settings()
    assert (defaults.auth_failures_per_second, defaults.auth_failure_burst) == (1, 30)
    monkeypatch.setenv("WARROOM_AUTH_FAILURES_PER_SECOND", "0.5")
    monkeypatch.setenv("WARROOM_AUTH_FAILURE_BURST", "5")
    configured = Settings()
    assert (configured.auth_failures_per_second, configured.auth_failure_burst) == (0.5, 5)


async def test_s7_behind_a_trusted_proxy_failed_authentications_count_the_forwarded_client(
    database_url, nats_url, tmp_path
):
    from tests.support.processes import ServiceProcess

    service = ServiceProcess(
        "incident",
        {
            "WARROOM_DATABASE_URL": database_url,
            "WARROOM_NATS_URL": nats_url,
            "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
            "WARROOM_AUTH_FAILURES_PER_SECOND": "0.1",
            "WARROOM_AUTH_FAILURE_BURST": "2",
            "WARROOM_FORWARDED_ALLOW_IPS": "127.0.0.1",
        },
        tmp_path,
    ).start()
    try:
        async with httpx.AsyncClient(base_url=service.url) as proxy:

            def behind(client: str, n: int) -> dict:
                return {**auth(f"guess-{client}-{n}"), "X-Forwarded-For": client}

            attacker = [
                (await proxy.get("/v1/process", headers=behind("203.0.113.7", n))).status_code for n in range(3)
            ]
            neighbour = (await proxy.get("/v1/process", headers=behind("198.51.100.1", 0))).status_code
    finally:
        service.stop()
    # Through the one proxy, each client behind it has its own budget: the attacker is limited, not the rest.
    assert attacker == [401, 401, 429] and neighbour == 401
