"""P1b — P1 while 10,000 deliveries retry against refusing and hanging endpoints (F14).

The P1 system (four services, twenty SMEs with live webhooks, 20 declarations/s), first quiet
(the same run's reference), then with 10,000 due deliveries queued in the notifier to endpoints
that refuse connections (closed ports) or accept and never answer (servers in this process):
pages and reminders to people whose webhooks died, and copies for an issue tracker that hangs.
They are written straight into the notifier's table, as its consumers queue them, so the
backlog is there at once. Goal: the live pages' p99 ≤ 1 s.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg

from bench.measure import ms, percentile
from bench.p1_page_latency import DRAIN, RATE, SERVICES, Declarations, organise, wait_for_pages, warm_up
from bench.stack import Servers
from bench.webhooks import PageReceiver

BACKLOG = 10_000
QUIET_SECONDS = 5.0
LOADED_SECONDS = 10.0
SETTLE = 2.0  # seconds for the notifier to be busy with the backlog before the timed declarations


class HangingReceiver:
    """Accepts connections, reads whatever comes, never answers."""

    def __init__(self):
        self.connections = 0

    async def start(self) -> HangingReceiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader, writer) -> None:
        self.connections += 1
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        self.server.close()


async def refusing_url() -> str:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return f"http://127.0.0.1:{port}"


async def queue_backlog(database_url: str, refusing: list[str], hanging: list[str]) -> None:
    """BACKLOG due deliveries: pages (40 %) and reminders (30 %) to dead people, copies (30 %) to a hung tracker."""
    kinds = [
        ("webhook", "paged", 0, refusing + hanging),
        ("webhook", "status_update_due", 1, refusing),
        ("issue_tracker", "minor_report", 2, hanging),
    ]
    shares = [int(BACKLOG * 0.4), int(BACKLOG * 0.3)]
    shares.append(BACKLOG - sum(shares))
    rows = []
    for (channel, reason, priority, origins), count in zip(kinds, shares, strict=True):
        for n in range(count):
            origin = origins[n % len(origins)]
            recipient = "issue_tracker" if channel == "issue_tracker" else f"dead-{n % 50}"
            key = f"p1b-{reason}-{n}"
            payload = {
                "incident_id": key,
                "event_type": "warroom.incident.declared.v1",
                "recipient": recipient,
                "reason": reason,
                "message": "an older notice",
                "title": "Older",
                "severity": 1,
            }
            rows.append(
                (
                    key,
                    key,
                    "warroom.incident.declared.v1",
                    key,
                    recipient,
                    channel,
                    reason,
                    f"{origin}/{recipient}",
                    json.dumps(payload),
                    "pending",
                    origin,
                    priority,
                )
            )
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO notifier.deliveries (id, event_id, event_type, incident_id, recipient, channel, reason, "
            "target, payload, state, circuit, priority, created_at, next_attempt_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, now() - interval '1 minute', "
            "        now() - interval '1 minute')",
            rows,
        )
        await conn.execute("SELECT pg_notify('warroom_notifier_queued', '')")
    finally:
        await conn.close()


async def timed(url: str, aspects: list[str], receiver: PageReceiver, seconds: float) -> tuple[list[float], int]:
    declarations = Declarations(url, aspects)
    await declarations.run(int(RATE * seconds), RATE)
    await declarations.close()
    await wait_for_pages(receiver, declarations.accepted, DRAIN)
    latencies = [max(0.0, receiver.pages[i] - at) for i, at in declarations.accepted.items() if i in receiver.pages]
    return latencies, len(declarations.accepted) - len(latencies) + sum(declarations.failed.values())


def figures(latencies: list[float]) -> str:
    if not latencies:
        return "no page arrived"
    return f"p50 {ms(percentile(latencies, 50))} ms p99 {ms(percentile(latencies, 99))} ms over {len(latencies)}"


async def run(servers: Servers, baseline: float) -> None:
    receiver = await PageReceiver().start()
    hanging = [await HangingReceiver().start() for _ in range(3)]
    refusing = [await refusing_url() for _ in range(3)]
    try:
        async with servers.system(*SERVICES) as services:
            incident = services["incident"]
            aspects = await organise(incident.url, receiver)
            await warm_up("P1b", incident.url, aspects, receiver, services)
            quiet, quiet_lost = await timed(incident.url, aspects, receiver, QUIET_SECONDS)

            await queue_backlog(services["notifier"].env["WARROOM_DATABASE_URL"], refusing, [h.url for h in hanging])
            await asyncio.sleep(SETTLE)
            loaded, loaded_lost = await timed(incident.url, aspects, receiver, LOADED_SECONDS)
            conn = await asyncpg.connect(services["notifier"].env["WARROOM_DATABASE_URL"])
            try:
                circuits = await conn.fetch("SELECT state, count(*) AS n FROM notifier.circuits GROUP BY state")
                pending = await conn.fetchval(
                    "SELECT count(*) FROM notifier.deliveries WHERE state = 'pending' AND incident_id LIKE 'p1b-%'"
                )
            finally:
                await conn.close()
    finally:
        await receiver.close()
        for server in hanging:
            await server.close()

    print(
        f"P1b quiet reference (same run, P1 at {RATE:.0f}/s): {figures(quiet)}"
        + (f" · unpaged {quiet_lost}" if quiet_lost else ""),
        flush=True,
    )
    p99 = percentile(loaded, 99) if loaded else None
    ratio = f" · ×{p99 / percentile(quiet, 99):.1f} the quiet p99" if p99 is not None and quiet else ""
    insert_times = f" · p99 = {p99 * baseline:.0f} INSERT times (baseline INSERT {baseline:.0f}/s)" if p99 else ""
    print(
        f"P1b declaration→SME webhook while {BACKLOG:,} deliveries retry against "
        f"{len(refusing)} refusing and {len(hanging)} hanging endpoints: {figures(loaded)} "
        f"(goal p99 ≤ 1 s){ratio}{insert_times}" + (f" · unpaged {loaded_lost}" if loaded_lost else ""),
        flush=True,
    )
    states = ", ".join(f"{r['state']} {r['n']}" for r in circuits) or "none failed"
    print(
        f"P1b endpoints after: {states} · "
        f"backlog still pending {pending} · connections to the hanging servers "
        f"{sum(h.connections for h in hanging)}",
        flush=True,
    )
