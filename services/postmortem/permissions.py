"""The post-mortem rows of the permission table (docs/process.md), decided from the incident's own events.

Roles are per incident: the managers are everyone who ever managed it (past managers review
what they handled), the SMEs are its SMEs now; admin is organisation-wide. Reading needs
nothing but being signed in.
"""
from dataclasses import dataclass

from services.postmortem.domain import Story


@dataclass(frozen=True)
class Permission:
    roles: str
    rule: str


EDIT = Permission("the incident's managers (past ones too), its SMEs and admins",
                  "permissions: edit post-mortem narrative, add action items")
PUBLISH = Permission("the incident's managers (past ones too) and admins",
                     "permissions: publish post-mortem; apply a process refinement from it")
APPLY = Permission(PUBLISH.roles, "R17")


def allowed(permission: Permission, caller: dict, story: Story) -> bool:
    if caller.get("admin"):
        return True
    person = caller["id"]
    if person in story.holders("manager"):
        return True
    return permission is EDIT and person in story.smes
