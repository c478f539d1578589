"""What an incident command needs besides its own input (no I/O here)."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.incident.policy import Actor
from shared.process.rules import Rules


@dataclass(frozen=True)
class Context:
    """What a command needs besides its own input: who asks, when, and the facts rules depend on."""
    actor: Actor
    at: datetime
    process: dict  # the process document the incident was declared under
    # R05: when a person's continuous tenure as manager began, were they to take an incident on at
    # a moment (their other incidents and breaks decide it): asked only when the manager changes.
    tenure_start: Callable[[str, datetime], datetime] = lambda person, at: at
    # R11: a person's timezone, working and waking hours (shared.process.hours.hours_of), or None
    # for nobody known: when a page is let out to them decides when it is due.
    hours_of: Callable[[str], dict | None] = lambda person: None
    # ``process`` typed; the application hands over the version's rules parsed once.
    rules: Rules | None = None

    def __post_init__(self):
        if self.rules is None:
            object.__setattr__(self, "rules", Rules.of(self.process))
