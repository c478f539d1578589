"""Commands of one replica take turns on what they change: an incident, a person's time records.

A command saves its incident together with the time records of the people it moves (tenure,
R05; load, R19) in one transaction, and each of those is versioned: two commands of this replica
touching the same person (64 declarations paging one SME) would otherwise lose the race to each
other and start again — wasted work, and before this module a refusal once retries ran out.
Here each key has a lock. A command blocks for locks only while it holds none, taking the keys it
knows of in sorted order; a key it learns of midway is taken without waiting or, if another
command has it, the command starts again holding it too (``Busy``). So no two commands wait for
each other in a cycle, and a replica never races itself. Another replica can still win a race:
the event store's version check catches that, and the command is checked again (application.py).
"""

import threading
import weakref
from collections.abc import Iterable
from typing import Any


class Busy(Exception):
    """A key wanted midway is held by another command: start again, holding it from the start."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _Lock:
    __slots__ = ("lock", "__weakref__")

    def __init__(self):
        self.lock = threading.Lock()


class Turns:
    """The locks of this replica, one per key while some command holds or wants it."""

    def __init__(self):
        self._locks: weakref.WeakValueDictionary[str, _Lock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()
        self._current = threading.local()

    def _lock(self, key: str) -> _Lock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = _Lock()
            return lock

    def hold(self, keys: Iterable[str]) -> "Held":
        """Block until every key is held (in sorted order); the caller's thread holds them as current."""
        held = Held(self)
        for key in sorted(set(keys)):
            lock = self._lock(key)
            lock.lock.acquire()
            held.locks[key] = lock
        self._current.held = held
        return held

    def current(self) -> "Held | None":
        """What the current command of this thread holds; None outside a command."""
        return getattr(self._current, "held", None)

    def take(self, key: str) -> None:
        """The current command needs ``key`` too: taken at once, or ``Busy``. Outside a command, nothing."""
        held = getattr(self._current, "held", None)
        if held is None or key in held.locks:
            return
        lock = self._lock(key)
        if not lock.lock.acquire(blocking=False):
            raise Busy(key)
        held.locks[key] = lock


class Held:
    def __init__(self, turns: Turns):
        self.turns = turns
        self.locks: dict[str, _Lock] = {}
        # What the command read once under these locks, to read again from here (timekeeping.py).
        self.read: dict[str, Any] = {}

    def release(self) -> set[str]:
        """Release everything; the keys that were held."""
        if getattr(self.turns._current, "held", None) is self:
            self.turns._current.held = None
        keys = set(self.locks)
        self.read.clear()
        for lock in self.locks.values():
            lock.lock.release()
        self.locks.clear()
        return keys


def incident_key(incident_id) -> str:
    return f"incident:{incident_id}"


def person_key(person: str) -> str:
    return f"person:{person}"
