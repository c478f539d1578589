"""The incident service's reading of the permission table (shared/permissions.py, docs/process.md's "Who may
do what"): what a caller holds on an incident, whether that lets them act, and a refusal in words."""

from collections.abc import Callable
from dataclasses import dataclass

from shared import permissions
from shared.permissions import ADMIN, OFFERED, PAGED, PAST_MANAGER, SELF, SIGNED_IN

# action -> who may, as the table says it ("admin" is organisation-wide; the roles are on the incident).
PERMISSIONS: dict[str, frozenset[str]] = {row.action: row.who for row in permissions.TABLE.values()}

# How a refusal's ``rule`` names the table's row (as refusals have always named it; rule_for below).
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
DOING = {row.action: row.doing for row in permissions.TABLE.values()}

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


def actor_roles(actor: Actor, incident, person: str | None = None) -> set[str]:
    """What the caller holds (shared/permissions.py's kinds): signed in, admin, and on ``incident`` their roles,
    having managed it, being its paged person or the one its handover is offered to; ``person`` is the one
    the request is about (their record, their tokens): the caller holds "self" when it is them."""
    roles = {SIGNED_IN}
    if actor.admin:
        roles.add(ADMIN)
    if person is not None and person == actor.person_id:
        roles.add(SELF)
    if incident is not None:
        roles |= incident.roles_of(actor.person_id)
        facts = {
            PAST_MANAGER: actor.person_id in incident.managers,
            PAGED: actor.person_id == incident.paged,
            OFFERED: (incident.handover_offer or {}).get("to") == actor.person_id,
        }
        roles |= {kind for kind, holds in facts.items() if holds}
    return roles


def allowed(action: str, actor: Actor, incident=None, person: str | None = None) -> bool:
    return permissions.permits(action, actor_roles(actor, incident, person))


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
