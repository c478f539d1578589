"""The checklist of the incident's current level: completing a step, and which steps are done (R14).
No I/O here."""

from datetime import datetime

from services.incident.domain.base import Context, Guards, IncidentEvent, State
from services.incident.errors import Conflict, NotFound


class ChecklistStepCompleted(IncidentEvent):
    step: str
    level: int
    by: str
    at: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.checklist_done[self.step] = {"level": self.level, "by": self.by, "at": self.at}


class Checklist(Guards):
    def complete_step(self, step: str, ctx: Context) -> None:
        self._command("complete_checklist_step", ctx)
        assert ctx.rules is not None  # set by Context itself
        steps = {s.id for s in ctx.rules.level(self.severity).checklist}
        if step not in steps:
            raise NotFound(f"level {self.severity} has no checklist step {step!r}", rule="R14")
        if self.step_done(step):
            raise Conflict(f"step {step!r} was already done", rule="R14")
        self._record(ChecklistStepCompleted, step=step, level=self.severity, by=ctx.actor.person_id, at=ctx.at)

    def step_done(self, step: str) -> bool:
        """Whether ``step`` was completed, at whichever level (a step is done once, R14)."""
        return step in self.checklist_done
