"""The permission table (docs/process.md, "Who may do what"), in one place: which incident roles may do what."""

from collections.abc import Callable
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
    "offer_handover": "offer handover",
    "force_handover": "force handover",
    "manage_roles": "add/remove workers, SMEs, observers; assign PR manager",
    "give_severity_input": "give severity input",
    "change_severity": "change severity",
    "request_status": "request status update; brief observers",
    "brief_observers": "request status update; brief observers",
    "post_status_update": "post status update",
    "post_public_update": "post public update",
    "report_affected_info": "report affected-user info",
    "request_affected_info": "request affected-user info",
    "complete_checklist_step": "complete checklist step",
    "resolve": "resolve / reopen",
    "reopen": "resolve / reopen",
    "configure": "configure process, directory, people, tokens",
}


# What each action is, in words, as a refusal says it: "only the incident's manager may resolve it".
DOING = {
    "offer_handover": "offer the handover",
    "force_handover": "force a handover",
    "manage_roles": "add or remove its workers, SMEs and observers, or assign its PR manager",
    "give_severity_input": "give severity input",
    "change_severity": "change its severity",
    "request_status": "request a status update",
    "brief_observers": "brief its observers",
    "post_status_update": "post a status update",
    "post_public_update": "post a public update",
    "report_affected_info": "report affected-user information",
    "request_affected_info": "request affected-user information",
    "complete_checklist_step": "complete a checklist step",
    "resolve": "resolve it",
    "reopen": "reopen it",
    "configure": "configure the process, the directory, people and tokens",
}

# A role on the incident in words: who may (plural where several hold it), and the attribute naming who does.
_ROLES = {
    "manager": ("manager", "manager"),
    "worker": ("workers", "workers"),
    "sme": ("SMEs", "smes"),
    "observer": ("observers", "observers"),
    "pr_manager": ("PR manager", "pr_manager"),
}


def refusal(action: str, incident, name_of: Callable[[str], str] = str) -> str:
    """Why the caller may not do ``action`` on ``incident``, and who may: the roles of the permission table
    in words, then who holds each now, by name (``name_of``: a person id to the name people know)."""
    roles = [role for role in _ROLES if role in PERMISSIONS[action]]
    who = [f"the incident's {' or '.join(_ROLES[role][0] for role in roles)}"] if roles else []
    if "admin" in PERMISSIONS[action]:
        who.append("an admin")
    holding = [_holders(role, incident, name_of) for role in roles if incident is not None]
    return "; ".join([f"only {' or '.join(who)} may {DOING[action]}", *holding])


def _holders(role: str, incident, name_of: Callable[[str], str]) -> str:
    noun, attribute = _ROLES[role]
    held = getattr(incident, attribute)
    people = [name_of(person) for person in ([held] if isinstance(held, str) else held or [])]
    if not people:
        return f"it has no {noun} now"
    if isinstance(held, str):
        return f"the {noun} now is {people[0]}"
    return f"its {noun} now are {_listed(people)}" if len(people) > 1 else f"its {noun[:-1]} now is {people[0]}"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class Actor:
    person_id: str
    admin: bool = False


def actor_roles(actor: Actor, incident) -> set[str]:
    roles = set()
    if actor.admin:
        roles.add("admin")
    if incident is not None:
        roles |= incident.roles_of(actor.person_id)
    return roles


def allowed(action: str, actor: Actor, incident=None) -> bool:
    return bool(PERMISSIONS[action] & actor_roles(actor, incident))


def rule_for(action: str) -> str:
    """How a refusal names the permission row (and rule, where one applies)."""
    rules = {
        "change_severity": "R13",
        "post_public_update": "R08",
        "report_affected_info": "R08",
        "offer_handover": "R04",
        "force_handover": "R04",
        "post_status_update": "R06",
    }
    return rules.get(action, f"permissions: {ROWS[action]}")
