"""Group commit: saves that queue while one is being written are written next, together, in one go.

A thread that submits finds either nobody writing — it becomes the leader and writes its own
submission at once, alone: no waiting for company, so a lone save costs what it cost before — or a
write under way: it queues and sleeps. When a write ends, its leader hands each of its submissions its
own outcome (a result, or the exception to raise) and wakes the oldest queued submitter to lead the next
write, which takes everything queued meanwhile (up to ``most``). The leader does not write on for the
others: its own caller gets its answer as soon as its write is done.

Only the thread that writes holds a database connection; the others wait in Python. What a write does
(one transaction for the lot, each submission refused alone) is the writer's (recorder.py).
"""

import copy
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Submission = TypeVar("Submission")
Result = TypeVar("Result")


class _Waiter(Generic[Submission, Result]):
    __slots__ = ("submission", "wake", "lead", "finished", "result", "error")

    def __init__(self, submission: Submission):
        self.submission = submission
        self.wake = threading.Event()
        self.lead = False  # woken to write the next group
        self.finished = False  # its outcome is set
        self.result: Result | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[Submission, Result]):
    """``submit`` blocks until the submission is written (with those queued beside it), then returns its
    result or raises its error. ``write`` gets the submissions of one group, oldest first, and returns one
    outcome per submission, a result or an exception; an exception raised by ``write`` is every one's."""

    def __init__(self, write: Callable[[list[Submission]], Sequence[Result | BaseException]], most: int = 64):
        self._write, self._most = write, most
        self._lock = threading.Lock()
        self._queue: deque[_Waiter[Submission, Result]] = deque()
        self._writing = False
        # Counted for tests and figures: how many writes carried how many submissions.
        self.writes = 0
        self.written = 0

    def queued(self) -> int:
        """Submissions waiting for the next write (not those being written)."""
        with self._lock:
            return len(self._queue)

    def submit(self, submission: Submission) -> Result:
        waiter: _Waiter[Submission, Result] = _Waiter(submission)
        with self._lock:
            self._queue.append(waiter)
            if not self._writing:
                self._writing = waiter.lead = True
        if not waiter.lead:
            waiter.wake.wait()
        if not waiter.finished:  # woken (or first) to lead: its own submission is the oldest queued
            self._write_next()
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]  # set with finished when no error is

    def _write_next(self) -> None:
        with self._lock:
            group = [self._queue.popleft() for _ in range(min(self._most, len(self._queue)))]
        try:
            try:
                outcomes = list(self._write([w.submission for w in group]))
                if len(outcomes) != len(group):
                    raise RuntimeError(f"a group of {len(group)} written with {len(outcomes)} outcomes")
            except Exception as exc:  # noqa: BLE001 — the whole write failed: every submission's error
                outcomes = [exc, *(_copied(exc) for _ in group[1:])]
            for waiter, outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    waiter.error = outcome
                else:
                    waiter.result = outcome
                waiter.finished = True
        finally:
            with self._lock:
                self.writes += 1
                self.written += len(group)
                if self._queue:  # the next leader starts at once; the waiters below wake meanwhile
                    following = self._queue[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self._writing = False
            for waiter in group:
                if not waiter.finished:  # only when the write itself was interrupted (BaseException)
                    waiter.error = RuntimeError("the group's write was interrupted")
                    waiter.finished = True
                waiter.wake.set()


def _copied(exc: Exception) -> Exception:
    """An exception of its own for each thread that raises it (a traceback is written into the object)."""
    try:
        return copy.copy(exc)
    except Exception:  # noqa: BLE001 — an exception that cannot be copied is shared
        return exc
