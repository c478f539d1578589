"""The post-mortem rows of the permission table (docs/process.md), decided from the incident's own events.

Roles are per incident: the managers are everyone who ever managed it (past managers review
what they handled), the SMEs are its SMEs now; admin is organisation-wide. Reading needs
nothing but being signed in.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from services.postmortem.domain import Story
from shared.permissions import ADMIN, PAST_MANAGER, SME, permits


@dataclass(frozen=True)
class Permission:
    action: str  # its row in the permission table (shared/permissions.py), which decides who may
    roles: str  # who may, in words
    doing: str  # what, in words: a refusal says "only {roles} may {doing}"
    rule: str


EDIT = Permission(
    "edit_postmortem",
    "the incident's managers (past ones too), its SMEs or an admin",
    "edit the post-mortem or add action items",
    "permissions: edit post-mortem narrative, add action items",
)
PUBLISH = Permission(
    "publish_postmortem",
    "the incident's managers (past ones too) or an admin",
    "publish the post-mortem",
    "permissions: publish post-mortem; apply a process refinement from it",
)
APPLY = Permission("apply_refinement", PUBLISH.roles, "apply a process refinement from the post-mortem", "R17")


def refusal(permission: Permission, story: Story, names: Mapping[str, str]) -> str:
    """Why the caller may not, and who may, by name (``names``: person id to the name people know)."""

    def named(people: list[str]) -> str:
        listed = [names.get(person, person) for person in people]
        return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"

    managers = story.holders("manager")
    said = [f"only {permission.roles} may {permission.doing}"]
    if managers:
        said.append(
            f"its managers were {named(managers)}" if len(managers) > 1 else f"its manager was {named(managers)}"
        )
    if permission is EDIT:
        said.append(
            f"its SMEs now are {named(story.smes)}"
            if len(story.smes) > 1
            else f"its SME now is {named(story.smes)}"
            if story.smes
            else "it has no SME now"
        )
    return "; ".join(said)


def people_named(story: Story) -> set[str]:
    """Who a refusal names: the incident's managers, past ones too, and its SMEs."""
    return set(story.holders("manager")) | set(story.smes)


def allowed(permission: Permission, caller: dict, story: Story) -> bool:
    person = caller["id"]
    facts = {
        ADMIN: bool(caller.get("admin")),
        PAST_MANAGER: person in story.holders("manager"),
        SME: person in story.smes,
    }
    return permits(permission.action, {kind for kind, holds in facts.items() if holds})
