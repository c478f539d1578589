"""Examples for the post-mortem API's OpenAPI document: a real draft, trimmed (the scripted checkout
incident of the tests: two of its seven sections, four of its timeline entries, …), each part also
the example of its own schema. Data only."""

from pydantic.json_schema import JsonDict, JsonValue

INCIDENT = "0b7e6a4c-2f1d-4c8e-9a53-6d2f1c7b8e90"
ANN = "8d9f1b2c-3e4a-4b5c-9d6e-7f8a9b0c1d2e"
BOB = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a10"
CAT = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
DAN = "4c3b2a19-0807-4f6e-9d5c-4b3a29180706"

EDIT: JsonDict = {
    "text": "A configuration change to the payment gateway.",
    "by": ANN,
    "by_name": "Ann Archer",
    "at": "2026-01-06T10:14:00Z",
}
CAUSE_TEXT = (
    "A configuration change to the payment gateway removed the retry policy, so every timeout surfaced as a 500."
)
SECTION: JsonDict = {
    "id": "cause",
    "title": "Cause",
    "prompt": "What actions or failures caused the problem?",
    "generated": {},
    "text": CAUSE_TEXT,
    "written": True,
    "written_by": BOB,
    "written_at": "2026-01-06T10:21:00Z",
    "history": [EDIT, {"text": CAUSE_TEXT, "by": BOB, "by_name": "Bob Baker", "at": "2026-01-06T10:21:00Z"}],
}
SECTION_IN: JsonDict = {"text": CAUSE_TEXT}
PROBLEM_TEXT = (
    "From 08:50 card payments failed at checkout with HTTP 500 in every region. "
    "Support noticed the first complaints at 08:55."
)
PROBLEM: JsonDict = {
    "id": "problem",
    "title": "Problem",
    "prompt": "What happened? When did it begin and how did it show, before it was declared?",
    "generated": {
        "title": "Checkout returns 500",
        "description": "Card payments fail with HTTP 500 at checkout",
        "aspect": "payments",
        "status": "resolved",
        "declared_at": "2026-01-05T09:00:00Z",
        "declared_by": {"person": DAN, "name": "Dan Dunn"},
        "resolved_at": "2026-01-05T12:00:00Z",
        "closed_at": None,
        "initial_severity": 2,
        "severity": 1,
        "highest_severity": 1,
        "process_version": 1,
        "coverage_gap": False,
    },
    "text": PROBLEM_TEXT,
    "written": True,
    "written_by": ANN,
    "written_at": "2026-01-06T10:07:00Z",
    "history": [{"text": PROBLEM_TEXT, "by": ANN, "by_name": "Ann Archer", "at": "2026-01-06T10:07:00Z"}],
}

TIMELINE_ENTRY: JsonDict = {
    "at": "2026-01-05T10:10:00Z",
    "type": "warroom.incident.status_updated.v1",
    "actor": CAT,
    "actor_name": "Cat Cole",
    "summary": "Cat Cole reported status",
    "quote": "Learned: Errors started with the 08:50 gateway config deploy\n"
    "Tried: Restarting the gateway\n"
    "Outcome: Restart changed nothing\n"
    "Working on: Rolling the config back\n"
    "Remaining: Verify checkouts in every region",
}
TIMELINE: list[JsonValue] = [
    {
        "at": "2026-01-05T09:00:00Z",
        "type": "warroom.incident.declared.v1",
        "actor": DAN,
        "actor_name": "Dan Dunn",
        "summary": "Dan Dunn declared “Checkout returns 500” for payments at level 2; Ann Archer manages",
        "quote": None,
    },
    {
        "at": "2026-01-05T09:15:00Z",
        "type": "warroom.timer.ack_due.v1",
        "actor": ANN,
        "actor_name": "Ann Archer",
        "summary": "The page to Ann Archer was not acknowledged in time (R11)",
        "quote": None,
    },
    {
        "at": "2026-01-05T09:18:00Z",
        "type": "warroom.incident.acknowledged.v1",
        "actor": BOB,
        "actor_name": "Bob Baker",
        "summary": "Bob Baker acknowledged the page",
        "quote": None,
    },
    TIMELINE_ENTRY,
]

TENURE: JsonDict = {"from": "2026-01-05T09:15:00Z", "to": "2026-01-05T10:45:00Z"}
PARTICIPANT: JsonDict = {"person": BOB, "name": "Bob Baker", "roles": ["manager", "sme"], "tenures": [TENURE]}
PARTICIPANTS: list[JsonValue] = [
    {
        "person": ANN,
        "name": "Ann Archer",
        "roles": ["manager", "sme"],
        "tenures": [
            {"from": "2026-01-05T09:00:00Z", "to": "2026-01-05T09:15:00Z"},
            {"from": "2026-01-05T10:45:00Z", "to": "2026-01-05T12:00:00Z"},
        ],
    },
    PARTICIPANT,
    {"person": CAT, "name": "Cat Cole", "roles": ["worker"], "tenures": []},
]
LEVEL_PERIOD: JsonDict = {"level": 2, "name": "Serious", "from": "2026-01-05T09:00:00Z", "to": "2026-01-05T09:45:00Z"}

ADHERENCE_ITEM: JsonDict = {
    "kind": "checklist",
    "rule": "R14",
    "what": "Announce in the incident chat room",
    "outcome": "late",
    "level": 2,
    "person": BOB,
    "person_name": "Bob Baker",
    "due_at": "2026-01-05T09:15:00Z",
    "done_at": "2026-01-05T09:26:00Z",
    "late_by": 660.0,
    "note": "",
    "reminders": 0,
}
ADHERENCE: list[JsonValue] = [
    {
        "kind": "acknowledgement",
        "rule": "R11",
        "what": "Acknowledge the page",
        "outcome": "missed",
        "level": 2,
        "person": ANN,
        "person_name": "Ann Archer",
        "due_at": "2026-01-05T09:15:00Z",
        "done_at": None,
        "late_by": None,
        "note": "escalated to Bob Baker after 15 min",
        "reminders": 1,
    },
    ADHERENCE_ITEM,
    {
        "kind": "checklist",
        "rule": "R14",
        "what": "Start the conference call",
        "outcome": "met",
        "level": 1,
        "person": BOB,
        "person_name": "Bob Baker",
        "due_at": "2026-01-05T10:00:00Z",
        "done_at": "2026-01-05T09:50:00Z",
        "late_by": None,
        "note": "",
        "reminders": 0,
    },
]
DURATIONS: JsonDict = {
    "to_acknowledge": 1080.0,
    "to_first_status_update": 4200.0,
    "to_resolve": 10800.0,
    "at_level": {"2": 2700.0, "1": 8100.0},
}

ACTION_ITEM_IN: JsonDict = {
    "title": "Warn about the handover an hour earlier",
    "owner": ANN,
    "due": "2026-01-09",
    "kind": "process_refinement",
    "change": {"handover_warning_after": "PT6H"},
}
ACTION_ITEM: JsonDict = {
    "id": 2,
    **ACTION_ITEM_IN,
    "owner_name": "Ann Archer",
    "created_by": BOB,
    "created_at": "2026-01-06T10:58:00Z",
    "applied_version": None,
    "applied_at": None,
    "applied_by": None,
}
PREVENTION: JsonDict = {
    "id": 1,
    "title": "Validate gateway configuration in CI",
    "owner": CAT,
    "owner_name": "Cat Cole",
    "due": "2026-01-20",
    "kind": "prevention",
    "change": None,
    "created_by": ANN,
    "created_at": "2026-01-06T10:52:00Z",
    "applied_version": None,
    "applied_at": None,
    "applied_by": None,
}
APPLIED: JsonDict = {
    "process_version": 2,
    "action_item": {
        **ACTION_ITEM,
        "applied_version": 2,
        "applied_at": "2026-01-06T11:05:00Z",
        "applied_by": BOB,
    },
}

POSTMORTEM: JsonDict = {
    "incident_id": INCIDENT,
    "title": "Checkout returns 500",
    "state": "draft",
    "published_at": None,
    "published_by": None,
    "published_by_name": None,
    "process_version": 1,
    "as_of": "2026-01-06T10:58:00Z",
    "levels": [
        LEVEL_PERIOD,
        {"level": 1, "name": "Critical", "from": "2026-01-05T09:45:00Z", "to": "2026-01-05T12:00:00Z"},
    ],
    "sections": [PROBLEM, SECTION],
    "timeline": TIMELINE,
    "participants": PARTICIPANTS,
    "adherence": ADHERENCE,
    "durations": DURATIONS,
    "action_items": [PREVENTION, ACTION_ITEM],
}

MARKDOWN = """# Post-mortem: Checkout returns 500

*Draft as of 2026-01-06 10:58 UTC* · incident `0b7e6a4c-2f1d-4c8e-9a53-6d2f1c7b8e90` · process version 1

| Key durations | |
|---|---|
| To acknowledge | 18 min |
| To first status update | 1 h 10 min |
| To resolve | 3 h |

## 1. Problem

- **Declared:** 2026-01-05 09:00 UTC by Dan Dunn, for “payments”, at level 2
- **Resolved:** 2026-01-05 12:00 UTC

From 08:50 card payments failed at checkout with HTTP 500 in every region.
"""

HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Post-mortem: Checkout returns 500</title>
…
"""
