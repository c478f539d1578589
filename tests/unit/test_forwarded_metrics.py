"""The incident-list consumer's figures, forwarded from the relay's process to the worker's metrics."""

from prometheus_client import REGISTRY

from services.incident.forwarded_metrics import Forwarded

APPLIED = "warroom_events_applied_total"
PENDING = "warroom_consumer_pending_messages"


def _value(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_forwarded_counter_grows_by_what_it_grew_in_the_process_and_again_from_zero_after_a_restart():
    labels = {"consumer": "forwarded-probe"}
    before = _value(APPLIED, labels)
    first = Forwarded()
    first.apply([[APPLIED, labels, 5.0], [PENDING, {"durable": "forwarded-probe"}, 40.0]])
    first.apply([[APPLIED, labels, 12.0], [PENDING, {"durable": "forwarded-probe"}, 3.0]])
    assert _value(APPLIED, labels) - before == 12.0
    assert _value(PENDING, {"durable": "forwarded-probe"}) == 3.0  # a gauge is set, not added up
    restarted = Forwarded()  # a relay process started again counts from zero
    restarted.apply([[APPLIED, labels, 2.0], ["some_other_metric", {}, 99.0]])
    assert _value(APPLIED, labels) - before == 14.0
