"""The order in which a consumer applies a batch of one ordered stream's events (shared/consumer_batch.py)."""

from datetime import UTC, datetime

from shared.consumer_batch import in_order
from shared.contract import Envelope, event_id


def _event(subject: str, sequence: int) -> Envelope:
    return Envelope(
        id=event_id(subject, sequence),
        source="test",
        type="warroom.incident.worker_added.v1",
        subject=subject,
        time=datetime.now(UTC),
        data={},
        sequence=sequence,
        position=sequence,
    )


def _applied(events: list[Envelope], positions: list[int]) -> list[tuple[str, int]]:
    return [(events[p].subject, events[p].sequence) for p in positions]


def test_f5_an_event_before_its_predecessor_in_a_batch_waits_for_it_there():
    events = [_event("a", 3), _event("b", 1), _event("a", 1), _event("a", 2), _event("b", 2)]
    ordering = in_order(events, range(len(events)), {})
    assert _applied(events, ordering.apply) == [("b", 1), ("a", 1), ("a", 2), ("a", 3), ("b", 2)]
    assert ordering.gaps == [] and ordering.last == {"a": 3, "b": 2}


def test_f5_applying_follows_on_from_what_was_applied_before():
    events = [_event("a", 5), _event("a", 6), _event("b", 1)]
    ordering = in_order(events, range(3), {"a": 4})
    assert _applied(events, ordering.apply) == [("a", 5), ("a", 6), ("b", 1)]


def test_f5_an_event_whose_predecessor_is_not_in_the_batch_is_a_gap_and_so_is_what_follows_it():
    events = [_event("a", 3), _event("a", 4), _event("b", 1)]
    ordering = in_order(events, range(3), {"a": 1})
    assert _applied(events, ordering.apply) == [("b", 1)]
    assert ordering.gaps == [0, 1] and ordering.last == {"a": 1, "b": 1}


def test_f4_an_event_at_or_below_what_was_applied_is_left_out_and_so_is_a_second_copy():
    events = [_event("a", 2), _event("a", 3), _event("a", 3), _event("a", 5), _event("a", 5)]
    ordering = in_order(events, range(5), {"a": 2})
    assert ordering.apply == [1] and ordering.gaps == [3]


def test_only_the_positions_given_are_ordered():
    events = [_event("a", 1), _event("a", 2)]
    ordering = in_order(events, [1], {"a": 1})
    assert ordering.apply == [1] and ordering.last == {"a": 2}
