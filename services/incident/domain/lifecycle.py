"""An incident's life after its declaration: resolved, reopened, closed (R15, R16). No I/O here.
The declaration itself is ``Incident.__init__`` (domain/__init__.py).
"""

from datetime import datetime

from services.incident.domain.base import Context, Guards, IncidentEvent, State, blank_field
from services.incident.errors import Conflict, Invalid


class Resolved(IncidentEvent):
    resolution: str
    test_plan: str
    by: str
    at: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.status, aggregate.resolved_at = "resolved", self.at
        aggregate.resolution = {"resolution": self.resolution, "test_plan": self.test_plan}
        aggregate.handover_offer = None


class Reopened(IncidentEvent):
    reason: str
    by: str
    at: datetime
    manager_since: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.status, aggregate.resolved_at, aggregate.resolution = "open", None, None
        # Managing again: a tenure resumed or begun (R05).
        aggregate.manager_since, aggregate.taken_on_at = self.manager_since, self.at
        # The cadences start again from the reopening, as the timers restart them (R06, R08).
        aggregate.last_status_at = aggregate.last_public_update_at = self.at
        aggregate.status_since = {worker: self.at for worker in aggregate.workers}


class Closed(IncidentEvent):
    by: str
    at: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.status, aggregate.closed_at, aggregate.handover_offer = "closed", self.at, None


class Lifecycle(Guards):
    def resolve(self, resolution: str, test_plan: str, ctx: Context) -> None:
        self._command("resolve", ctx)
        gaps = [name for name, value in (("resolution", resolution), ("test_plan", test_plan)) if not value.strip()]
        if gaps:
            raise Invalid(
                "resolving needs a resolution and the test plan that verified the fix",
                rule="R15",
                errors=[blank_field(name) for name in gaps],
            )
        self._record(Resolved, resolution=resolution, test_plan=test_plan, by=ctx.actor.person_id, at=ctx.at)

    def reopen(self, reason: str, ctx: Context) -> None:
        if self.status != "resolved":
            raise Conflict(f"only a resolved incident can be reopened; this one is {self.status}", rule="R15")
        self._authorize("reopen", ctx)
        self._require_text("reason", reason, "R15")
        self._record(
            Reopened,
            reason=reason,
            by=ctx.actor.person_id,
            at=ctx.at,
            manager_since=ctx.tenure_start(self.manager, ctx.at),
        )

    def close(self, by: str, at: datetime) -> bool:
        """The post-mortem was published (R16); False when already closed."""
        if self.status == "closed":
            return False
        self._record(Closed, by=by, at=at)
        return True
