"""The fault tests' checks downstream (tests/support/downstream.py) can fail: an effect missing, made twice
or made for nothing is named; read models that hold each effect once pass."""

import copy

from services.timers.domain import ACK_DUE, STATUS_UPDATE_DUE, WORKER_FRESH, timer_id
from tests.support.downstream import deliveries_mismatches, timeline_mismatches, timers_mismatches

SAM, WES = "sam", "wes"


def _event(event_id: str, kind: str, second: int, **data: str) -> dict:
    return {
        "id": event_id,
        "type": f"warroom.incident.{kind}.v1",
        "time": f"2026-03-01T09:30:{second:02}Z",
        "data": data,
    }


HISTORY = [
    _event("d", "declared", 0, paged=SAM),
    _event("a1", "worker_added", 1, person=WES, by=SAM),
    _event("r1", "worker_removed", 2, person=WES, by=SAM),
    _event("a2", "worker_added", 3, person=WES, by=SAM),
]


def _timer(timer: str, kind: str, person: str, state: str) -> dict:
    return {"id": timer, "kind": kind, "person": person, "state": state}


TIMERS = [
    _timer(timer_id("d", ACK_DUE), ACK_DUE, SAM, "pending"),
    _timer(timer_id("a1", STATUS_UPDATE_DUE, WES), STATUS_UPDATE_DUE, WES, "cancelled"),
    _timer(timer_id("a2", STATUS_UPDATE_DUE, WES), STATUS_UPDATE_DUE, WES, "pending"),
    _timer("fresh-1", WORKER_FRESH, WES, "cancelled"),
    _timer("fresh-2", WORKER_FRESH, WES, "pending"),
]


def _delivery(event: str, recipient: str, reason: str) -> dict:
    kind = next(e["type"] for e in HISTORY if e["id"] == event)
    return {"event_id": event, "event_type": kind, "recipient": recipient, "reason": reason, "channel": "email"}


DELIVERIES = [_delivery("d", SAM, "paged"), _delivery("a1", WES, "worker_added"), _delivery("a2", WES, "worker_added")]
POSTMORTEM = {"timeline": [{"type": e["type"], "at": e["time"]} for e in HISTORY]}


def test_f1_read_models_holding_each_effect_once_have_no_mismatch():
    assert timers_mismatches(HISTORY, TIMERS) == []
    assert deliveries_mismatches(HISTORY, DELIVERIES) == []
    assert timeline_mismatches(HISTORY, POSTMORTEM) == []


def test_f1_a_worker_added_without_its_status_timer_or_a_second_pending_one_is_a_mismatch():
    assert timers_mismatches(HISTORY, [t for t in TIMERS if t["id"] != timer_id("a1", STATUS_UPDATE_DUE, WES)])
    assert timers_mismatches(HISTORY, TIMERS + [_timer("again", STATUS_UPDATE_DUE, WES, "pending")])
    removed = [t | {"state": "cancelled"} if t["kind"] == WORKER_FRESH else t for t in TIMERS]
    assert timers_mismatches(HISTORY, removed)  # a worker still there without their freshness warning
    assert timers_mismatches(HISTORY, TIMERS + [_timer("page-2", ACK_DUE, SAM, "pending")])


def test_f1_a_delivery_missing_made_twice_or_for_a_removal_is_a_mismatch():
    assert deliveries_mismatches(HISTORY, DELIVERIES[1:])
    assert deliveries_mismatches(HISTORY, DELIVERIES + [DELIVERIES[0]])
    assert deliveries_mismatches(HISTORY, DELIVERIES + [_delivery("r1", WES, "worker_removed")])
    unknown = copy.deepcopy(DELIVERIES[0]) | {"event_id": "never-stored"}
    assert deliveries_mismatches(HISTORY, DELIVERIES + [unknown])


def test_f1_an_incident_event_missing_or_twice_in_the_timeline_is_a_mismatch():
    assert timeline_mismatches(HISTORY, {"timeline": POSTMORTEM["timeline"][:-1]})
    assert timeline_mismatches(HISTORY, {"timeline": POSTMORTEM["timeline"] + POSTMORTEM["timeline"][-1:]})
    assert timeline_mismatches(HISTORY, None)
    timer_entry = {"type": "warroom.timer.checklist_step_due.v1", "at": "2026-03-01T09:40:00Z"}
    assert timeline_mismatches(HISTORY, {"timeline": POSTMORTEM["timeline"] + [timer_entry]}) == []
