"""Limits before work (S3): a body over the limit (1 MiB by default) is answered 413 problem+json
while it is read, before it is parsed and before authentication; authentication comes before the
body is parsed; memory stays bounded under a flood of large bodies."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from services.incident.bootstrap import create_app as incident_app
from services.notifier.bootstrap import create_app as notifier_app
from services.postmortem.bootstrap import create_app as postmortem_app
from services.timers.bootstrap import create_app as timers_app
from shared.settings import Settings
from tests.support.incident import ADMIN_TOKEN, auth, incident_service
from tests.support.processes import ServiceProcess

MiB = 1024 * 1024
DECLARATION = {"title": "Checkout down", "description": "500s", "aspect": "servers", "severity": 1}


def test_s3_the_body_limit_is_one_mebibyte_by_default_and_configurable(monkeypatch):
    assert Settings().max_body_bytes == MiB
    monkeypatch.setenv("WARROOM_MAX_BODY_BYTES", "65536")
    assert Settings().max_body_bytes == 65536


@pytest.mark.parametrize(
    "create_app",
    [incident_app, notifier_app, timers_app, postmortem_app],
    ids=["incident", "notifier", "timers", "postmortem"],
)
async def test_s3_every_service_answers_413_to_a_declared_length_over_the_limit_without_reading_it(create_app):
    # No lifespan: the refusal needs neither the database nor the token, nor a byte of the body.
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none", nats_url="nats://127.0.0.1:1"))
    read = 0

    async def body():
        nonlocal read
        for _ in range(3):
            read += MiB
            yield b"x" * MiB

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        refused = await client.post(
            "/v1/anything", content=body(), headers={**auth("wrong"), "Content-Length": str(3 * MiB)}
        )
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 413 and "limit" in refused.json()["detail"]
    assert read <= MiB  # at most the first chunk was pulled from the client by the transport


async def _chunks(total: int, chunk: int = 64 * 1024, then_hang: bool = False):
    sent = 0
    while sent < total:
        yield b" " * chunk
        sent += chunk
    if then_hang:
        await asyncio.sleep(3600)


async def test_s3_a_body_without_a_length_is_refused_413_once_it_passes_the_limit_and_nothing_is_stored(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url, max_body_bytes=64 * 1024) as (client, _):
        before = (await client.get("/v1/incidents")).json()
        # A valid token, so only the limit stops it: JSON padded with spaces beyond 64 KiB, sent chunked.
        refused = await client.post(
            "/v1/incidents",
            content=_chunks(256 * 1024),
            headers={"Content-Type": "application/json", "Idempotency-Key": "big-1"},
        )
        assert refused.status_code == 413, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/v1/incidents")).json() == before


async def test_s3_a_wrong_token_is_answered_401_before_the_body_is_read(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        # A body that never ends: only an answer given before reading it can arrive.
        refused = await asyncio.wait_for(
            client.post(
                "/v1/incidents",
                content=_chunks(128 * 1024, then_hang=True),
                headers={**auth("made-up-token"), "Content-Type": "application/json"},
            ),
            timeout=5,
        )
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        missing = await asyncio.wait_for(
            client.post(
                "/v1/incidents",
                content=_chunks(128 * 1024, then_hang=True),
                headers={"Authorization": "", "Content-Type": "application/json"},
            ),
            timeout=5,
        )
        assert missing.status_code == 401


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


async def _send_large(port: int, size: int, chunked: bool) -> tuple[int, float]:
    """Send a large POST with a wrong token as a client that reads the answer while it sends:
    (status, seconds until the status line arrived)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    writer.write(
        f"POST /v1/incidents HTTP/1.1\r\nHost: incident\r\nAuthorization: Bearer wrong-{port}\r\n"
        f"Content-Type: application/json\r\n{length}\r\n\r\n".encode()
    )

    async def pour():
        chunk = b"x" * (256 * 1024)
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
        try:
            for _ in range(size // len(chunk)):
                writer.write(framed)
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server answered and closed: the rest of the body is not wanted

    pouring = asyncio.create_task(pour())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        answered = time.monotonic() - started
    finally:
        pouring.cancel()
        await asyncio.gather(pouring, return_exceptions=True)
        writer.close()
    return int(status_line.split()[1]), answered


async def test_s3_a_flood_of_large_bodies_with_bad_tokens_is_refused_within_a_second_in_bounded_memory(
    database_url, nats_url, tmp_path
):
    service = ServiceProcess(
        "incident",
        {"WARROOM_DATABASE_URL": database_url, "WARROOM_NATS_URL": nats_url, "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN},
        tmp_path,
    ).start()
    try:
        pid = service.process.pid
        async with httpx.AsyncClient(base_url=service.url) as client:  # warm up: one ordinary request
            assert (await client.get("/v1/process", headers=auth(ADMIN_TOKEN))).status_code == 200
        before = _memory(pid)["VmRSS"]
        # 20 bodies of 50 MB at once: half declare their length, half are sent chunked.
        answers = await asyncio.gather(
            *(_send_large(service.port, 50 * 1000 * 1000, chunked=n % 2 == 1) for n in range(20))
        )
        after = _memory(pid)
    finally:
        service.stop()
    assert {status for status, _ in answers} <= {401, 413}, answers
    assert {status for status, _ in answers} == {401, 413}  # 413 for a declared length, 401 for the rest
    assert max(took for _, took in answers) < 1.0, answers
    assert after["VmHWM"] - before <= 50 * 1000 * 1000, (before, after)
