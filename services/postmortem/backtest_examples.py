"""Examples of the back-test's bodies for the API document: a real back-test's answer, trimmed (a shorter
status cadence and shift limit proposed, one incident)."""

from typing import Any

from services.postmortem.backtest_words import NOTE

BACKTEST_IN: dict[str, Any] = {
    "change": {"manager_shift_limit": "PT3H", "handover_warning_after": "PT2H"},
    "since": "2025-10-07T09:00:00Z",
}

PAGE = {
    "person": "ann",
    "level": 1,
    "paged_at": "2026-01-05T09:00:00Z",
    "released_at": "2026-01-05T09:00:00Z",
    "due_at": "2026-01-05T09:05:00Z",
    "acknowledgement": "met",
    "escalated": False,
}

DEADLINE = {
    "kind": "status_update",
    "rule": "R06",
    "what": "Status update",
    "outcome": "late",
    "level": 1,
    "person": "cat",
    "due_at": "2026-01-05T09:40:00Z",
    "done_at": "2026-01-05T10:10:00Z",
    "late_by": 1800.0,
    "note": "",
}

SIDE_BEFORE = {"outcome": None, "deviations": 0, "occurrences": 0, "late_by": None, "said": "none"}
SIDE_AFTER = {
    "outcome": "late",
    "deviations": 1,
    "occurrences": 1,
    "late_by": 1200.0,
    "said": "breached at 2026-01-05 12:00 UTC: handed over 20 min after it",
}

DIFFERENCE = {
    "kind": "shift_limit",
    "item": "The shift limit of Ann Archer",
    "before": SIDE_BEFORE,
    "after": SIDE_AFTER,
    "text": "The shift limit of Ann Archer: none under version 1; breached at 2026-01-05 12:00 UTC: handed over "
    "20 min after it under the proposal.",
}

JUDGEMENT = {
    "deviations": 1,
    "by_kind": {"shift_limit": 1},
    "pages": [PAGE],
    "deadlines": [
        {
            "kind": "shift_limit",
            "rule": "R05",
            "what": "Hand over before the shift limit",
            "outcome": "late",
            "level": 1,
            "person": "ann",
            "due_at": "2026-01-05T12:00:00Z",
            "done_at": "2026-01-05T12:20:00Z",
            "late_by": 1200.0,
            "note": "shift limit 3 h reached",
        }
    ],
}

INCIDENT = {
    "incident_id": "inc-checkout-500",
    "title": "Checkout returns 500",
    "declared_at": "2026-01-05T09:00:00Z",
    "status": "resolved",
    "process_version": 1,
    "before": {"deviations": 0, "by_kind": {}, "pages": [PAGE], "deadlines": []},
    "after": JUDGEMENT,
    "differences": [DIFFERENCE],
}

KIND_TOTAL = {
    "kind": "shift_limit",
    "deviations_before": 0,
    "deviations_after": 1,
    "incidents_before": 0,
    "incidents_after": 1,
    "text": "1 of 1 incident would have breached the 3-hour shift limit, against 0 under the versions they ran with.",
}

SUMMARY = {
    "incidents": 1,
    "incidents_changed": 1,
    "deviations_before": 0,
    "deviations_after": 1,
    "pages_moved": 0,
    "kinds": [KIND_TOTAL],
    "text": [
        "1 of 1 incident would have been judged differently: 1 deviation instead of 0.",
        KIND_TOTAL["text"],
    ],
}

BACKTEST = {
    "note": NOTE,
    "as_of": "2026-01-06T09:00:00Z",
    "proposal": "change",
    "scope": {"since": "2025-10-07T09:00:00Z", "incidents": None},
    "warnings": [],
    "summary": SUMMARY,
    "incidents": [INCIDENT],
}
