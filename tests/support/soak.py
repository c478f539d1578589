"""What the soak (F12) watches while its load runs: each service process's memory, every durable consumer's
lag, and the connections held to PostgreSQL and to NATS — sampled every few seconds, then summed up as
the figures the test bounds and reports."""

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.support.downstream import consumer_lag
from tests.support.processes import ServiceProcess

ESTABLISHED = "01"  # the TCP state in /proc/net/tcp


def rss_kib(pid: int) -> int:
    """A process's resident memory (Linux: VmRSS of /proc/<pid>/status), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def tcp_connections_to(port: int) -> int:
    """Established TCP connections whose local end is ``port`` (the server's side of each client)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == ESTABLISHED:
                count += 1
    return count


def pg_connections(database_url: str) -> dict[str, int]:
    """Sessions open on the test's database by application name (each service's pools name themselves
    warroom-<service>; others, such as the incident service's event store, are unnamed), this one left out."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY application_name"
        ).fetchall()
    return {name or "unnamed": int(count) for name, count in rows}


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the soak began
    rss: dict[str, int]  # service → KiB, of the process running at that moment
    lag: dict[str, int]  # durable consumer → messages not yet delivered or acknowledged
    pg: dict[str, int]  # application name → sessions on PostgreSQL
    nats: int  # client connections to the NATS server


@dataclass
class Watch:
    """Samples taken every ``every`` seconds until stopped."""

    services: dict[str, ServiceProcess]
    database_url: str
    nats_url: str
    every: float = 5.0
    samples: list[Sample] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)

    async def sample(self) -> Sample:
        nats_port = int(self.nats_url.rsplit(":", 1)[1])
        # Counted before this watch opens a connection of its own to read the lag.
        nats = tcp_connections_to(nats_port)
        rss = {
            name: rss_kib(service.process.pid)
            for name, service in self.services.items()
            if service.process and service.process.poll() is None
        }
        pg = await asyncio.to_thread(pg_connections, self.database_url)
        lag = await consumer_lag(self.nats_url)
        taken = Sample(round(time.monotonic() - self.began, 1), rss, lag, pg, nats)
        self.samples.append(taken)
        return taken

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await self.sample()
            try:
                await asyncio.wait_for(stopping.wait(), self.every)
            except TimeoutError:
                pass

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def window(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at < end]


def peak(samples: list[Sample], figure: str, key: str | None = None, but: frozenset[str] = frozenset()) -> int:
    """The highest value of a figure over some samples: ``rss``, ``lag`` or ``pg`` of one key, or summed over
    all keys not in ``but``; ``nats`` as it is."""
    values = []
    for sample in samples:
        value = getattr(sample, figure)
        if isinstance(value, dict):
            value = value.get(key, 0) if key else sum(v for k, v in value.items() if k not in but)
        values.append(value)
    return max(values, default=0)


def median_rss(samples: list[Sample], service: str) -> float:
    """The service's typical memory over some samples (0 when it was never up at a sample)."""
    values = [s.rss[service] for s in samples if service in s.rss]
    return statistics.median(values) if values else 0.0


def rss_per_minute(samples: list[Sample], service: str) -> float:
    """How fast the service's memory grew over some samples: the least-squares slope, KiB a minute (0 for
    fewer than two samples). A leak keeps its slope to the end; a bound being filled, or the allocator
    settling, flattens."""
    points = [(s.at / 60, s.rss[service]) for s in samples if service in s.rss]
    if len(points) < 2 or len({at for at, _ in points}) < 2:
        return 0.0
    return statistics.linear_regression(*zip(*points, strict=True)).slope
