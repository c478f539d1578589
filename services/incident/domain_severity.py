"""Incident commands on the severity level and its checklist (R09, R13, R14).

The ``_…`` event methods these trigger are on ``Incident`` in domain.py (why: see there). No I/O here.
"""
from services.incident.domain_context import Context
from services.incident.domain_guards import Guards, blank_field
from services.incident.errors import Conflict, Invalid, NotFound


class SeverityCommands(Guards):
    def give_severity_input(self, level: int, comment: str, ctx: Context) -> None:
        self._command("give_severity_input", ctx)
        self._check_level(level, ctx)
        self._severity_input_given(level=level, comment=comment, by=ctx.actor.person_id)

    def change_severity(self, level: int, reason: str, considered_input: list[int], ctx: Context) -> None:
        self._command("change_severity", ctx)
        self._check_level(level, ctx)
        if not reason.strip():
            raise Invalid("a severity change needs a reason", rule="R13", errors=[blank_field("reason")])
        if level == self.severity:
            raise Conflict(f"the incident is already at level {level}", rule="R13")
        known = {given["sequence"] for given in self.severity_inputs}
        if unknown := sorted(set(considered_input) - known):
            raise Invalid(f"no severity input at sequence {unknown}", rule="R13",
                          errors=[{"field": "considered_input", "message": f"unknown: {unknown}"}])
        self._severity_changed(previous=self.severity, severity=level, reason=reason, by=ctx.actor.person_id,
                               considered_input=sorted(set(considered_input)), at=ctx.at)

    @staticmethod
    def _check_level(level: int, ctx: Context) -> None:
        levels = sorted(ctx.rules.levels)
        if level not in levels:
            raise Invalid(f"level {level} is not a level of this incident's process", rule="R09",
                          errors=[{"field": "level", "message": f"one of {levels}"}])

    def complete_step(self, step: str, ctx: Context) -> None:
        self._command("complete_checklist_step", ctx)
        steps = {s.id for s in ctx.rules.level(self.severity).checklist}
        if step not in steps:
            raise NotFound(f"level {self.severity} has no checklist step {step!r}", rule="R14")
        if step in self.checklist_done:
            raise Conflict(f"step {step!r} was already done", rule="R14")
        self._step_completed(step=step, level=self.severity, by=ctx.actor.person_id, at=ctx.at)
