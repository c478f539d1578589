"""How a message speaks: durations, moments, levels and status updates as people read them, and
what a message may mention besides its event (R11).

Pure: everything it names comes in as arguments.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notifier.incidents import PARTS, IncidentView, Summary
from shared.process.rules import Level, Rules


@dataclass(frozen=True)
class MessageContext:
    """What a message may mention besides the event: the policy, people's names, a link."""

    level: Level
    rules: Rules
    names: dict[str, str]
    link: str | None = None
    role: str = ""  # the recipient's, filled in per message
    description: str = ""  # the level's: the process kernel's Level leaves it to the document
    summary: Summary | None = None  # what an observer summary covers (R07)
    acknowledge: str | None = None  # on a page: the recipient's signed link that acknowledges it (R11)

    def but(self, **changes: Any) -> "MessageContext":
        """A copy with these fields changed: ``dataclasses.replace``, which looks at every field again on each
        call, made once per message per recipient (a catch-up queues tens of thousands)."""
        if unknown := changes.keys() - _FIELDS:
            raise TypeError(f"MessageContext has no field {', '.join(sorted(unknown))}")
        copied = object.__new__(MessageContext)
        copied.__dict__.update(self.__dict__, **changes)  # frozen: its __setattr__ refuses, as it should elsewhere
        return copied

    def name(self, person: str | None) -> str:
        return self.names.get(person, person) if person else "nobody"

    def limit(self, key: str, words: str, otherwise: str = "") -> str:
        """The rules' ``key`` duration spoken at the {} of ``words``, or ``otherwise`` where it says nothing."""
        said = spoken(getattr(self.rules, key))
        return words.format(said) if said else otherwise


_FIELDS = frozenset(field.name for field in fields(MessageContext))

# What a notice says happened, and what it asks of the person told.
Said = tuple[str, str]
# The words for one reason a person is told: from the subject (the incident named with its level),
# the incident, the event's data and the message's context.
Words = Callable[[str, IncidentView, dict[str, Any], MessageContext], Said]


def spoken(duration: timedelta | None) -> str:
    """1 hour 30 minutes rather than PT1H30M, for people rather than parsers."""
    seconds = int(duration.total_seconds()) if duration else 0
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts)


def spoken_in(words: str, duration: timedelta | None, otherwise: str = "") -> str:
    """``words`` with ``duration`` spoken at its {} (" every {}": " every 1 hour"), or ``otherwise``
    where there is none: most durations of a process are optional."""
    return words.format(spoken(duration)) if duration else otherwise


def quoted(parts: dict[str, str]) -> str:
    """R06's five parts of a status update, each quoted as written."""
    return "; ".join(f'{part.replace("_", " ")} "{parts[part]}"' for part in PARTS)


def moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def level_label(severity: int, level: Level) -> str:
    return f"level {severity}, {level.name}" if level.name else f"level {severity}"
