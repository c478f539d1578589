"""The severity level: observers' and SMEs' input on it, and the manager's changes of it (R07, R09, R13).
No I/O here. The checklist that follows the level is checklist.py.
"""

from datetime import datetime

from services.incident.domain.base import Context, Guards, IncidentEvent, State, blank_field
from services.incident.errors import Conflict, Invalid
from shared.process.rules import Rules


class SeverityInputGiven(IncidentEvent):
    """Numbered by the event's sequence, which a later change cites in ``considered_input``."""

    level: int
    comment: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.severity_inputs.append(
            {"sequence": aggregate.version + 1, "level": self.level, "comment": self.comment, "by": self.by}
        )


class SeverityChanged(IncidentEvent):
    previous: int
    severity: int
    reason: str
    by: str
    considered_input: list[int]
    at: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.severity, aggregate.level_since = self.severity, self.at


def levels_in_words(rules: Rules) -> str:
    """R09: the levels a severity may take, as people call them: "1 Critical, 2 Serious, 3 Significant"."""
    return ", ".join(f"{number} {rules.levels[number].name}".strip() for number in sorted(rules.levels))


def level_refused(field: str, level: int, rules: Rules) -> Invalid:
    """R09: a severity that is not one of the process's levels, refused with the levels named."""
    levels = levels_in_words(rules)
    return Invalid(
        f"severity must be one of {levels}; {level} is not a level of the process",
        rule="R09",
        errors=[{"field": field, "message": f"must be one of {levels}"}],
    )


def check_level(level: int, ctx: Context) -> None:
    """R09: the levels are the organisation's, as the incident's process version defines them."""
    assert ctx.rules is not None  # set by Context itself
    if level not in ctx.rules.levels:
        raise level_refused("level", level, ctx.rules)


class Severity(Guards):
    def give_severity_input(self, level: int, comment: str, ctx: Context) -> None:
        self._command("give_severity_input", ctx)
        check_level(level, ctx)
        self._record(SeverityInputGiven, level=level, comment=comment, by=ctx.actor.person_id)

    def change_severity(self, level: int, reason: str, considered_input: list[int], ctx: Context) -> None:
        self._command("change_severity", ctx)
        check_level(level, ctx)
        if not reason.strip():
            raise Invalid("a severity change needs a reason", rule="R13", errors=[blank_field("reason")])
        if level == self.severity:
            raise Conflict(f"the incident is already at level {level}", rule="R13")
        known = {given["sequence"] for given in self.severity_inputs}
        if unknown := sorted(set(considered_input) - known):
            raise Invalid(
                f"no severity input at sequence {unknown}",
                rule="R13",
                errors=[{"field": "considered_input", "message": f"unknown: {unknown}"}],
            )
        self._record(
            SeverityChanged,
            previous=self.severity,
            severity=level,
            reason=reason,
            by=ctx.actor.person_id,
            considered_input=sorted(set(considered_input)),
            at=ctx.at,
        )
