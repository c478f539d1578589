"""What an incident command needs besides its own input (no I/O here)."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.incident.policy import Actor


@dataclass(frozen=True)
class Context:
    """What a command needs besides its own input: who asks, when, and the facts rules depend on."""
    actor: Actor
    at: datetime
    process: dict  # the process document the incident was declared under
    # R05: when a person's continuous tenure as manager began, were they to take an incident on at
    # a moment (their other incidents and breaks decide it): asked only when the manager changes.
    tenure_start: Callable[[str, datetime], datetime] = lambda person, at: at

    def level(self, number: int) -> dict:
        return next(level for level in self.process["levels"] if level["level"] == number)
