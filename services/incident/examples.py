"""The examples of the incident service's API document: one incident (Ada manages it, Wes works on it),
told the same way in every body, so a reader can follow one story through the operations. Data only.

A request's example is also sent by the fuzzing's explicit phase (tests/integration): each is valid as
it stands."""

from typing import Any

ADA = "1a1cdda6-8d60-4192-80b7-665d27ed4228"
WES = "4f961ff4-21ed-44c3-b8b6-c73b245d2d97"
ADMIN = "a87e0860-811b-54cd-9a83-1bd7cf3532ca"
INCIDENT = "f7bd4305-028e-4f8b-b41b-e753e153bf37"
TOKEN = "c090b91a-d135-5f9a-9924-377ff15bd89d"
DECLARED_AT = "2026-03-02T09:14:05.120000Z"
WORKING_HOURS: dict[str, Any] = {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}
WAKING_HOURS: dict[str, Any] = {"start": "07:00", "end": "23:00"}

PERSON_IN: dict[str, Any] = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "timezone": "Europe/London",
    "phone": "+44 20 7946 0000",
    "groups": ["sre"],
    "working_hours": WORKING_HOURS,
    "waking_hours": WAKING_HOURS,
    "webhook_url": "https://hooks.example.com/ada",
    "admin": False,
}
PERSON: dict[str, Any] = {"id": ADA, **PERSON_IN, "active": True}
COVERAGE_WARNING = "aspect 'payments' has no SME left: declarations for it page the catch-all SME (Admin) (R10)"
PERSON_PATCH: dict[str, Any] = {"phone": "+44 20 7946 0001", "waking_hours": None}

TOKEN_IN: dict[str, Any] = {"person_id": WES, "label": "laptop", "expires_at": "2026-12-31T23:59:59Z"}
TOKEN_VIEW: dict[str, Any] = {
    "id": TOKEN,
    "label": "laptop",
    "created_at": "2026-03-01T08:00:00Z",
    "last_used_at": "2026-03-02T09:20:00Z",
    "expires_at": "2026-12-31T23:59:59Z",
    "revoked": False,
    "expired": False,
    "parent": None,
}

DECLARE: dict[str, Any] = {
    "title": "Checkout fails for card payments",
    "description": "Card payments fail with a 502 since 09:12.",
    "aspect": "payments",
    "severity": 2,
}
DUE: dict[str, Any] = {
    "checklist": [
        {
            "step": "pick-worker",
            "title": "Pick and contact a worker, with the SME's help",
            "due_at": "2026-03-02T09:29:05Z",
        },
        {"step": "deploy", "title": "Deploy the fix", "due_at": None},
    ],
    "next_status_update_at": "2026-03-02T11:20:00Z",
    "next_public_update_at": "2026-03-02T11:14:05Z",
    "pr_manager_needed": True,
    "acknowledgement_due_at": None,
    "handover_warning_at": "2026-03-02T16:14:05Z",
    "shift_limit_at": "2026-03-02T17:14:05Z",
    "tired_workers": [],
}
INCIDENT_OUT: dict[str, Any] = {
    "id": INCIDENT,
    **DECLARE,
    "status": "open",
    "manager": ADA,
    "workers": [WES],
    "smes": [ADA],
    "observers": [],
    "pr_manager": None,
    "handover_offer": None,
    "version": 3,
    "process_version": 1,
    "declared_at": DECLARED_AT,
    "resolved_at": None,
    "closed_at": None,
    "coverage_gap": False,
    "paged": ADA,
    "acknowledged": True,
    "managers": [ADA],
    "severity_inputs": [{"sequence": 4, "level": 1, "comment": "every card payment fails", "by": WES}],
    "checklist_done": {"pick-worker": {"level": 2, "by": ADA, "at": "2026-03-02T09:21:40Z"}},
    "resolution": None,
    "due": DUE,
    "coverage": None,
}
COVERAGE: dict[str, Any] = {"gap": False, "aspect_known": True, "did_you_mean": [], "paged": ADA}
SUMMARY: dict[str, Any] = {
    key: INCIDENT_OUT[key] for key in ("id", "title", "aspect", "status", "severity", "manager", "declared_at")
}

EVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "0c6c297e-d774-5b96-8654-e7848392ce33",
    "source": "warroom/incident",
    "type": "warroom.incident.worker_added.v1",
    "subject": INCIDENT,
    "time": "2026-03-02T09:20:00Z",
    "datacontenttype": "application/json",
    "data": {"person": WES, "by": ADA, "worked_seconds_last_24h": 0, "fresh": True},
    "sequence": 3,
    "position": 22,
    "chainhash": "sha256:9b1f0c2d8e4a7356b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8",
}

ASPECT: dict[str, Any] = {"aspect": "payments", "smes": [ADA]}
COVERAGE_REPORT: dict[str, Any] = {
    "uncovered": ["ledger"],
    "declared_without_sme": ["paymnts"],
    "catch_all_sme": ADMIN,
    "warnings": [],
}
REPORT_IN: dict[str, Any] = {
    "title": "Typo on the status page",
    "description": "'Operatonal' on the footer.",
    "aspect": "payments",
}
REFINEMENT_IN: dict[str, Any] = {"postmortem": INCIDENT, "action_item": 2, "change": {"manager_shift_limit": "PT6H"}}

LEVEL: dict[str, Any] = {
    "level": 1,
    "name": "Critical",
    "description": "Several customer sites down, a top customer down, or customers harmed.",
    "immediacy": "any_hour",
    "communications": "Incident chat room, conference call; the manager's direct phone.",
    "observers": [{"group": "executives", "person": None, "channel": "webhook", "immediacy": "any_hour"}],
    "checklist": [
        {"id": "pick-worker", "title": "Pick and contact a worker, with the SME's help", "due_within": "PT15M"}
    ],
    "status_update_every": "PT1H",
    "public_update_every": "PT1H",
    "requires_pr_manager": True,
    "acknowledge_within": "PT5M",
}
PROCESS_IN: dict[str, Any] = {
    "levels": [LEVEL],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "manager_min_break": "PT1H",
    "worker_fresh_for": "PT12H",
    "catch_all_sme": ADMIN,
    "issue_tracker_webhook": "https://tracker.example.com/hooks/warroom",
}
PROCESS: dict[str, Any] = {"version": 2, **PROCESS_IN}
PUBLISHED_PROCESS: dict[str, Any] = {**PROCESS, "warnings": []}
