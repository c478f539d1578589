"""Who may do what in the notifier: reading deliveries is for any signed-in person, the rest for admins."""

from shared.problems import Problem


def require_admin(caller: dict, what: str) -> None:
    if not caller.get("admin"):
        raise Problem(
            403, f"only an admin may {what}", rule="permissions: configure process, directory, people, tokens"
        )
