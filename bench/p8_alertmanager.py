"""P8 — Prometheus Alertmanager in: 1,000 alerts in 50 groups, posted to a real Alertmanager (Debian's,
installed when missing and running as root) within 10 s, routed to a level paged at any hour.

The incident and notifier services run as processes; Alertmanager (group_wait 1 s, group_interval 2 s:
about 25 notifications a second, within the integration token's rate limit) sends its webhook through a
tap in this process, which notes when each notification arrived and which incident it declared, and
forwards it unchanged. Fifty SMEs, one per alert group's service, have webhooks served here. Figures:
exactly 50 incidents, every alert recorded on its incident (read back from ``GET /v1/events``), and from
the notification that declared an incident reaching the incident service to the first page at its SME's
webhook (goal p99 ≤ 1 s).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

from bench.admin import Admin, bearer
from bench.loadclient import Connection, read_message
from bench.measure import ms, percentile
from bench.stack import ADMIN_TOKEN, Servers
from bench.webhooks import PageReceiver
from tools.alertmanager import Alertmanager, binary, config

SERVICES = ("incident", "notifier")
GROUPS, ALERTS, SECONDS, BATCHES = 50, 1000, 10.0, 100
DRAIN = 60.0  # at most this long for the last alerts to be recorded after the last post
HOOK = "/v1/integrations/alertmanager"


class Tap:
    """Between Alertmanager and the incident service: ``declared`` maps an incident to the arrival of the
    notification whose answer named it first (the one that declared it); every request is forwarded as is."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.declared: dict[str, float] = {}
        self.answers: Counter = Counter()
        self._server: asyncio.Server | None = None

    async def start(self) -> Tap:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None  # started
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = Connection(self.upstream, timeout=30)
        try:
            while True:
                start_line, headers, body = await read_message(reader)
                arrived = time.monotonic()
                method, path = start_line.decode().split()[:2]
                forwarded = {"Authorization": headers.get("authorization", ""), "Content-Type": "application/json"}
                answer = await upstream.request(method, path, body, forwarded)
                self.answers[answer.status] += 1
                if answer.status == 200 and (incident := answer.json().get("incident_id")):
                    self.declared.setdefault(incident, arrived)
                head = f"HTTP/1.1 {answer.status} X\r\nContent-Type: application/json\r\n"
                writer.write(f"{head}Content-Length: {len(answer.body)}\r\n\r\n".encode() + answer.body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # Alertmanager closed the connection
        finally:
            await upstream.close()
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def organise(url: str, receiver: PageReceiver) -> str:
    """Fifty SMEs, each the only SME of a service's aspect, a route per service to level 1 (any hour), and
    a person for the integration: its token."""
    admin = Admin(url)
    try:
        for n in range(GROUPS):
            sme = await admin.register(f"P8Sme{n}", webhook_url=f"{receiver.url}/sme-{n}")
            await admin.set_aspect(f"service-{n}", [sme])
        token = await admin.token(await admin.register("Alertmanager"))
        process = (await admin.http.request("GET", "/v1/process")).json()
        process["alert_routes"] = [
            {"match": {"service": f"service-{n}"}, "aspect": f"service-{n}", "severity": 1} for n in range(GROUPS)
        ]
        published = await admin.http.request("PUT", "/v1/process", process)
        if published.status != 200 or process["levels"][0]["immediacy"] != "any_hour":
            raise RuntimeError(f"P8 process: {published.status} {published.body[:300]!r}")
    finally:
        await admin.close()
    return token


def alerts() -> list[dict]:
    """Alert i fires in group (service) i mod 50: every group has its first within the first half second."""
    return [
        {
            "labels": {"alertname": f"P8Alert{i // GROUPS}", "service": f"service-{i % GROUPS}"},
            "annotations": {"summary": f"bench alert {i}"},
        }
        for i in range(ALERTS)
    ]


async def send(manager: Alertmanager) -> float:
    """Every alert posted to Alertmanager's API in BATCHES paced posts over SECONDS; the seconds it took."""
    connection, every, started = Connection(manager.url), alerts(), time.monotonic()
    size = ALERTS // BATCHES
    try:
        for n in range(BATCHES):
            await asyncio.sleep(max(0.0, started + n * SECONDS / BATCHES - time.monotonic()))
            answer = await connection.request("POST", "/api/v2/alerts", every[n * size : (n + 1) * size])
            if answer.status != 200:
                raise RuntimeError(f"Alertmanager refused alerts: {answer.status} {answer.body[:300]!r}")
    finally:
        await connection.close()
    return time.monotonic() - started


async def recorded(url: str) -> tuple[int, Counter]:
    """The incidents declared, and the distinct alerts recorded on each (their fingerprints), from the store."""
    connection, after = Connection(url, bearer(ADMIN_TOKEN)), 0
    declared, alerts_of = 0, dict[str, set[str]]()  # incident -> the fingerprints recorded on it
    try:
        while True:
            page = (await connection.request("GET", f"/v1/events?after={after}&limit=1000")).json()
            for event in page["events"]:
                declared += event["type"] == "warroom.incident.declared.v1"
                if event["type"] == "warroom.incident.alerts_attached.v1":
                    alerts_of.setdefault(event["subject"], set()).update(
                        a["fingerprint"] for a in event["data"]["alerts"]
                    )
            if page["next"] is None:
                break
            after = page["next"]
    finally:
        await connection.close()
    return declared, Counter({incident: len(found) for incident, found in alerts_of.items()})


async def run(servers: Servers, baseline: float) -> None:
    path = await asyncio.to_thread(binary)
    receiver = await PageReceiver().start()
    try:
        async with servers.system(*SERVICES) as services:
            incident = services["incident"]
            token = await organise(incident.url, receiver)
            tap = await Tap(incident.url).start()
            settings = config(f"{tap.url}{HOOK}", token, group_by=("service",), group_interval="2s")
            try:
                with Alertmanager(path, Path(servers.dir) / "alertmanager", settings) as manager:
                    took = await send(manager)
                    deadline = time.monotonic() + DRAIN
                    while True:
                        declared, per_incident = await recorded(incident.url)
                        done = sum(per_incident.values()) >= ALERTS and len(receiver.pages) >= declared >= GROUPS
                        if done or time.monotonic() > deadline:
                            break
                        await asyncio.sleep(0.5)
            finally:
                await tap.close()
            if set(tap.answers) - {200}:  # what the incident service said of the others
                print(f"P8 incident service log:\n{incident.log_tail()}", flush=True)
    finally:
        await receiver.close()
    report(took, declared, per_incident, tap, receiver, baseline)


def report(
    took: float, declared: int, per_incident: Counter, tap: Tap, receiver: PageReceiver, baseline: float
) -> None:
    latencies = [max(0.0, receiver.pages[i] - at) for i, at in tap.declared.items() if i in receiver.pages]
    figures = f"p50 {ms(percentile(latencies, 50))} ms p99 {ms(percentile(latencies, 99))} ms" if latencies else "none"
    print(
        f"P8 Alertmanager notification→first page: {figures} over {len(latencies)} (goal p99 ≤ 1000 ms) · "
        f"{ALERTS} alerts in {GROUPS} groups sent in {took:.1f} s → {declared} incidents (goal exactly {GROUPS}), "
        f"{sum(per_incident.values())} alerts recorded (goal {ALERTS}, {ALERTS // GROUPS} on each: "
        f"{'yes' if set(per_incident.values()) == {ALERTS // GROUPS} else json.dumps(sorted(per_incident.values()))}) "
        f"· webhook answers {dict(tap.answers)} · baseline INSERT {baseline:.0f}/s",
        flush=True,
    )
