"""The permission table (docs/process.md, "Who may do what"), in one place: which incident roles may do what."""
from dataclasses import dataclass

# action -> roles allowed ("admin" is organisation-wide; the rest are roles on the incident).
PERMISSIONS: dict[str, frozenset[str]] = {
    "offer_handover": frozenset({"manager"}),
    "force_handover": frozenset({"admin"}),
    "manage_roles": frozenset({"manager", "admin"}),
    "give_severity_input": frozenset({"sme", "observer"}),
    "change_severity": frozenset({"manager"}),
    "request_status": frozenset({"manager"}),
    "brief_observers": frozenset({"manager"}),
    "post_status_update": frozenset({"worker"}),
    "post_public_update": frozenset({"pr_manager"}),
    "report_affected_info": frozenset({"pr_manager"}),
    "request_affected_info": frozenset({"manager"}),
    "complete_checklist_step": frozenset({"manager"}),
    "resolve": frozenset({"manager"}),
    "reopen": frozenset({"manager"}),
    "configure": frozenset({"admin"}),
}

ROWS = {
    "offer_handover": "offer handover", "force_handover": "force handover",
    "manage_roles": "add/remove workers, SMEs, observers; assign PR manager",
    "give_severity_input": "give severity input", "change_severity": "change severity",
    "request_status": "request status update; brief observers",
    "brief_observers": "request status update; brief observers",
    "post_status_update": "post status update", "post_public_update": "post public update",
    "report_affected_info": "report affected-user info", "request_affected_info": "request affected-user info",
    "complete_checklist_step": "complete checklist step", "resolve": "resolve / reopen", "reopen": "resolve / reopen",
    "configure": "configure process, directory, people, tokens",
}


@dataclass(frozen=True)
class Actor:
    person_id: str
    admin: bool = False


def roles_of(actor: Actor, incident) -> set[str]:
    roles = set()
    if actor.admin:
        roles.add("admin")
    if incident is not None:
        roles |= incident.roles_of(actor.person_id)
    return roles


def allowed(action: str, actor: Actor, incident=None) -> bool:
    return bool(PERMISSIONS[action] & roles_of(actor, incident))


def rule_for(action: str) -> str:
    """How a refusal names the permission row (and rule, where one applies)."""
    rules = {"change_severity": "R13", "post_public_update": "R08", "report_affected_info": "R08",
             "offer_handover": "R04", "force_handover": "R04", "post_status_update": "R06"}
    return rules.get(action, f"permissions: {ROWS[action]}")
