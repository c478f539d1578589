"""The incident-list consumer's metrics, from the relay's process (where it runs) to the worker's ``/metrics``.

The relay's process applies the service's own stream to its lists (relay_process.py); the consumer loop counts
what it does in that process's registry, which nobody scrapes. Every ``EVERY`` seconds the process sends the
current values of the consumer metrics on its figures pipe (``taken``), and the worker adds them to its own
(``Forwarded.apply``): a counter grows by what it grew in the process since the last figures (counted from
zero again by a process started again), a gauge is set.
"""

from prometheus_client import REGISTRY, Counter, Gauge

from shared import consumer, poison

EVERY = 1.0  # seconds between the process's figures

# By sample name: what prometheus_client reports a counter as (its name and "_total") and a gauge as.
METRICS: dict[str, Counter | Gauge] = {
    "warroom_events_applied_total": consumer.APPLIED,
    "warroom_events_duplicate_total": consumer.DUPLICATES,
    "warroom_events_failed_total": consumer.FAILURES,
    "warroom_consumer_pending_messages": consumer.PENDING,
    "warroom_consumer_redeliveries_total": consumer.REDELIVERIES,
    "warroom_events_parked_total": poison.PARKED,
    "warroom_events_replayed_total": poison.REPLAYED,
}


def taken() -> list[list]:
    """The process's consumer metrics now: ``[sample name, labels, value]`` each."""
    return [
        [sample.name, sample.labels, sample.value]
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name in METRICS
    ]


class Forwarded:
    """The worker's side, for one run of the relay's process."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def apply(self, samples: list[list]) -> None:
        for name, labels, value in samples:
            metric = METRICS.get(name)
            if metric is None:
                continue
            if isinstance(metric, Gauge):
                metric.labels(**labels).set(value)
                continue
            key = (name, tuple(sorted(labels.items())))
            grown = value - self.last.get(key, 0.0)
            self.last[key] = value
            if grown > 0:
                metric.labels(**labels).inc(grown)
