"""Who may do what in the notifier: reading deliveries is for any signed-in person, the rest for admins."""

from shared.permissions import ADMIN, permits
from shared.problems import Problem


def require_admin(caller: dict, what: str) -> None:
    """The permission table's "configure" row (shared/permissions.py): an admin's."""
    if not permits("configure", {ADMIN} if caller.get("admin") else set()):
        raise Problem(
            403, f"only an admin may {what}", rule="permissions: configure process, directory, people, tokens"
        )
