"""S2's matrix, generated from the permission table (shared/permissions.py): the callers a cell is made
for (the columns), what each holds on the thing asked about, and the status the table gives them.

Nothing here says who may do what: that is the table's. What is here is who each caller is (a person of
tests/support/org.py and how they sign in) and how the API answers a caller it does not let in: no
credentials 401, a credential a route does not take 401, a signed-in person without the right 403, a link
route without a valid link 403.
"""

from dataclasses import dataclass, field
from typing import Any

from shared.links import PATH_PREFIX
from shared.permissions import (
    ADMIN,
    LINK,
    MANAGER,
    OBSERVER,
    OFFERED,
    PAGED,
    PAST_MANAGER,
    PR_MANAGER,
    SELF,
    SESSION,
    SIGNED_IN,
    SME,
    TABLE,
    WORKER,
    permits,
)

# How a caller comes: with a bearer token, with nothing, with the console's session cookie, or holding a
# signed link (which it also tries as a bearer token on the JSON API).
TOKEN, NOBODY, CONSOLE, LINK_HOLDER = "token", "nobody", "console", "link holder"


@dataclass(frozen=True)
class Caller:
    column: str
    kind: str
    name: str | None  # the person (tests/support/org.py), None for nobody


COLUMNS = (
    Caller("admin", TOKEN, "Admin"),
    Caller("manager", TOKEN, "Mia"),
    Caller("worker", TOKEN, "Wes"),
    Caller("sme", TOKEN, "Tess"),
    Caller("observer", TOKEN, "Olga"),
    Caller("pr_manager", TOKEN, "Prue"),
    Caller("stranger", TOKEN, "Pat"),  # signed in, no role anywhere
    Caller("no_token", NOBODY, None),
    Caller("session", CONSOLE, "Mia"),  # the manager's own console session: still no JSON API route but streams
    Caller("link", LINK_HOLDER, "Mia"),  # the acknowledge link of the manager's page
)


@dataclass
class Target:
    """What a cell acts on: the incident as the API shows it (None: no incident), the person the request is
    about (their record, their tokens), the path's parameters, and what its preparation made."""

    params: dict[str, str] = field(default_factory=dict)
    incident: dict[str, Any] | None = None
    about: str | None = None
    made: dict[str, Any] = field(default_factory=dict)


def holds(person: str | None, admin: bool, target: Target) -> set[str]:
    """The table's kinds of caller ``person`` is, on ``target``: read from the incident as the API shows it."""
    held = {SIGNED_IN} | ({ADMIN} if admin else set())
    if person is not None and person == target.about:
        held.add(SELF)
    incident = target.incident
    if incident is None or person is None:
        return held
    facts = {
        MANAGER: incident["manager"] == person,
        WORKER: person in incident["workers"],
        SME: person in incident["smes"],
        OBSERVER: person in incident["observers"],
        PR_MANAGER: incident["pr_manager"] == person,
        PAST_MANAGER: person in incident["managers"],
        PAGED: incident["paged"] == person,
        OFFERED: (incident["handover_offer"] or {}).get("to") == person,
    }
    return held | {kind for kind, true in facts.items() if true}


def expected(caller: Caller, person: str | None, path: str, action: str, target: Target, success: int) -> int:
    """The status the permission table gives ``caller`` for ``action`` on ``target`` through ``path``."""
    who = TABLE[action].who
    if path.startswith(PATH_PREFIX):  # a signed link's route: the link is the credential, and nothing else is
        return success if caller.kind == LINK_HOLDER and LINK in who else 403
    if caller.kind in (NOBODY, LINK_HOLDER):  # no bearer token at all, or a link tried as one
        return 401
    if caller.kind == CONSOLE:
        return success if SESSION in who else 401
    return success if permits(action, holds(person, caller.column == "admin", target)) else 403
