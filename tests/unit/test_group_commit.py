"""The group commit's queue (services/incident/group_commit.py), with a write that records what it was given."""

import threading
import time

import pytest

from services.incident.group_commit import GroupCommit


class Writes:
    """A write that returns each submission doubled (or raises, for negative ones), and can be held."""

    def __init__(self):
        self.groups: list[list[int]] = []
        self.held = threading.Event()
        self.held.set()
        self.entered = threading.Event()

    def __call__(self, submissions: list[int]) -> list[int | Exception]:
        self.entered.set()
        self.held.wait(5)
        self.groups.append(list(submissions))
        if 0 in submissions:
            raise ConnectionError("the write failed")
        return [ValueError(n) if n < 0 else n * 2 for n in submissions]


def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def _submit_all(committer: GroupCommit, writes: Writes, submissions: list[int]) -> dict[int, object]:
    """The first submission written alone and held there while the rest queue, then all released."""
    outcomes: dict[int, object] = {}

    def submit(n: int) -> None:
        try:
            outcomes[n] = committer.submit(n)
        except Exception as exc:  # noqa: BLE001 — the outcome under test
            outcomes[n] = exc

    writes.held.clear()
    first = threading.Thread(target=submit, args=(submissions[0],))
    first.start()
    assert writes.entered.wait(5)
    others = [threading.Thread(target=submit, args=(n,)) for n in submissions[1:]]
    for thread in others:
        thread.start()
    _until(lambda: committer.queued() == len(others))
    writes.held.set()
    for thread in [first, *others]:
        thread.join(5)
    return outcomes


def test_a_lone_submission_is_written_at_once_alone():
    writes = Writes()
    committer = GroupCommit(writes)
    assert committer.submit(3) == 6
    assert committer.submit(4) == 8
    assert writes.groups == [[3], [4]] and committer.writes == 2


def test_submissions_queued_behind_a_write_are_written_together_next_each_with_its_own_result():
    writes = Writes()
    committer = GroupCommit(writes)
    outcomes = _submit_all(committer, writes, list(range(1, 11)))
    assert writes.groups[0] == [1] and sorted(writes.groups[1]) == list(range(2, 11)) and len(writes.groups) == 2
    assert outcomes == {n: n * 2 for n in range(1, 11)}
    assert (committer.writes, committer.written, committer.queued()) == (2, 10, 0)


def test_a_group_takes_at_most_its_cap_and_the_rest_follow_in_the_next():
    writes = Writes()
    committer = GroupCommit(writes, most=4)
    outcomes = _submit_all(committer, writes, list(range(1, 11)))
    assert [len(group) for group in writes.groups] == [1, 4, 4, 1]
    assert outcomes == {n: n * 2 for n in range(1, 11)}


def test_a_submission_refused_in_a_group_gets_its_own_error_and_the_others_their_results():
    writes = Writes()
    committer = GroupCommit(writes)
    outcomes = _submit_all(committer, writes, [1, 2, -3, 4])
    assert isinstance(outcomes[-3], ValueError) and outcomes[-3].args == (-3,)
    assert {n: outcomes[n] for n in (1, 2, 4)} == {1: 2, 2: 4, 4: 8}


def test_a_failed_write_is_every_submission_of_its_group_s_error_and_the_next_write_goes_on():
    writes = Writes()
    committer = GroupCommit(writes)
    outcomes = _submit_all(committer, writes, [1, 0, 2, 3])
    assert outcomes[1] == 2
    for n in (0, 2, 3):
        assert isinstance(outcomes[n], ConnectionError)
    assert len({id(outcomes[n]) for n in (0, 2, 3)}) == 3  # each thread raises an exception of its own
    assert committer.submit(5) == 10


def test_a_failed_lone_write_raises_in_its_caller():
    committer = GroupCommit(Writes())
    with pytest.raises(ConnectionError):
        committer.submit(0)
    assert committer.submit(1) == 2


def test_a_save_refused_in_a_group_raises_the_error_a_save_alone_would():
    from eventsourcing.persistence import DatabaseError, DataError, IntegrityError, OperationalError

    from services.incident.recorder import refusal

    stale = refusal("23505", "duplicate key value violates unique constraint")
    assert type(stale) is IntegrityError and "duplicate key" in str(stale)
    assert type(refusal("22001", "value too long")) is DataError
    assert type(refusal("40P01", "deadlock detected")) is OperationalError
    assert type(refusal("ZZ999", "unknown")) is DatabaseError
