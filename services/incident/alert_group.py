"""An Alertmanager group (its ``groupKey``) and what Warroom made of it: the incident it declared, or the
minor report it filed, and every alert already recorded — saved in the same commit as the incident's or
the report's events, so the two never disagree. Private to this service (never published).

Stored events carry this module's path in their topic (``services.incident.alert_group:AlertGroup.…``).
"""

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.incident.copying import CheapCopy


def group_id(group_key: str) -> UUID:
    """A group is found by its key alone, so its id is derived from it."""
    return uuid5(NAMESPACE_URL, f"warroom:alert-group:{group_key}")


def turn_key(group_key: str) -> str:
    """The group's turn (turns.py): one notification of a group at a time on this replica."""
    return f"alert-group:{group_id(group_key)}"


class AlertGroup(CheapCopy, Aggregate):
    """``target``: the incident (``kind`` "incident") or minor report ("report") the group's alerts go to;
    ``recorded``: the alert keys (alerts.py ``key``) already recorded, so a repeated notification changes
    nothing."""

    @event("Opened")
    def __init__(self, id: UUID, group_key: str, kind: str, target: str, recorded: list[str]):
        self.group_key, self.kind, self.target = group_key, kind, target
        self.recorded: list[str] = list(recorded)

    @event("Retargeted")
    def retarget(self, kind: str, target: str, recorded: list[str]) -> None:
        """Its incident was closed (or it filed a report): the next new alerts declared or reported anew."""
        self.kind, self.target = kind, target
        self.recorded.extend(recorded)

    @event("Recorded")
    def record(self, recorded: list[str]) -> None:
        self.recorded.extend(recorded)

    def knows(self, key: str) -> bool:
        return key in self.recorded

    def fires(self) -> bool:
        """Some alert recorded firing has not been recorded resolved (alerts.py ``key``: a resolution is its
        firing key with "/resolved")."""
        done = {key.removesuffix("/resolved") for key in self.recorded if key.endswith("/resolved")}
        return any(key not in done for key in self.recorded if not key.endswith("/resolved"))
