"""A cached aggregate far behind the store catches up from its latest snapshot, not through every event.

The library's repository fast-forwards a cached aggregate by applying every event stored since its
version. A replica (or worker) whose cached incident missed thousands of commands made elsewhere would
read and apply them all, one request paying for it. Here the fast-forward reads at most
``FAR_BEHIND`` new events; when there are that many, a snapshot newer than the cached version exists
(one is taken every ``snapshotting_intervals`` events), so the aggregate is rebuilt from the latest one
and the few events after it. The common case costs what it did: one read of the events since the
cached version.
"""

from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProjectorFunction, Repository, project_aggregate

# New events past which the latest snapshot is the shorter way: the incident application's snapshot interval.
FAR_BEHIND = 100


class SnapshotCatchUpRepository(Repository[UUID]):
    """The library's repository, but a cached aggregate ``FAR_BEHIND`` events behind starts again from its
    latest snapshot. Reads of a past version, and aggregates not cached, go through the library unchanged."""

    @classmethod
    def like(cls, base: Repository[UUID]) -> "SnapshotCatchUpRepository":
        """This repository with the stores, cache and settings of ``base`` (the application's own)."""
        repository = cls(
            base.event_store,
            snapshot_store=base.snapshot_store,
            fastforward=base.fastforward,
            fastforward_skipping=base.fastforward_skipping,
            deepcopy_from_cache=base.deepcopy_from_cache,
        )
        repository.cache = base.cache
        return repository

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        if version is None and self.cache is not None and self.fastforward and self.snapshot_store is not None:
            try:
                cached = self.cache.get(aggregate_id)
            except KeyError:
                pass  # not cached: the library reconstructs it from its latest snapshot and caches it
            else:
                blocking = not (fastforward_skipping or self.fastforward_skipping)
                aggregate = self._caught_up(aggregate_id, cached, projector_func, blocking=blocking)
                return deepcopy(aggregate) if deepcopy_from_cache and self.deepcopy_from_cache else aggregate
        return super().get(
            aggregate_id,
            version=version,
            projector_func=projector_func,
            fastforward_skipping=fastforward_skipping,
            deepcopy_from_cache=deepcopy_from_cache,
        )

    def _caught_up(
        self, aggregate_id: UUID, cached: Any, projector_func: ProjectorFunction[Any, Any], *, blocking: bool
    ) -> Any:
        """The cached aggregate brought up to the store, and cached so. The library's per-aggregate lock keeps
        two threads from applying the same events to the one cached object; a thread that may skip (the
        library's ``fastforward_skipping``) answers from the cache as it is when another is at it."""
        lock = self._use_fastforward_lock(aggregate_id)
        try:
            if not lock.acquire(blocking=blocking):
                return cached
            try:
                aggregate = self._fast_forwarded(aggregate_id, cached, projector_func)
                if aggregate is not cached:
                    assert self.cache is not None  # get's condition
                    self.cache.put(aggregate_id, aggregate)
                return aggregate
            finally:
                lock.release()
        finally:
            self._disuse_fastforward_lock(aggregate_id)

    def _fast_forwarded(self, aggregate_id: UUID, cached: Any, projector_func: ProjectorFunction[Any, Any]) -> Any:
        new_events = list(self.event_store.get(aggregate_id, gt=cached.version, limit=FAR_BEHIND))
        if len(new_events) < FAR_BEHIND:  # the common case: one read, as the library's fast-forward
            aggregate = projector_func(cached, new_events)
        else:
            start = self._snapshot_past(aggregate_id, cached.version + len(new_events), projector_func)
            if start is None:  # no snapshot since (one not taken): on through the events
                start = projector_func(cached, new_events)
            aggregate = projector_func(start, self.event_store.get(aggregate_id, gt=start.version))
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def _snapshot_past(self, aggregate_id: UUID, version: int, projector_func: ProjectorFunction[Any, Any]) -> Any:
        """The aggregate from its latest snapshot (a new object: the cached one is left alone), if that is past
        ``version``; else None."""
        assert self.snapshot_store is not None  # get's condition
        latest = list(self.snapshot_store.get(aggregate_id, desc=True, limit=1))
        if not latest or latest[0].originator_version <= version:
            return None
        return projector_func(None, latest)
