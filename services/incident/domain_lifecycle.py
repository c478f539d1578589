"""Incident commands that move it through its life: resolved, reopened, closed (R15, R16).

The ``_…`` event methods these trigger are on ``Incident`` in domain.py (why: see there). No I/O here.
"""
from datetime import datetime

from services.incident.domain_context import Context
from services.incident.domain_guards import Guards, blank_field
from services.incident.errors import Conflict, Invalid


class LifecycleCommands(Guards):
    def resolve(self, resolution: str, test_plan: str, ctx: Context) -> None:
        self._command("resolve", ctx)
        gaps = [name for name, value in (("resolution", resolution), ("test_plan", test_plan)) if not value.strip()]
        if gaps:
            raise Invalid("resolving needs a resolution and the test plan that verified the fix", rule="R15",
                          errors=[blank_field(name) for name in gaps])
        self._resolved(resolution=resolution, test_plan=test_plan, by=ctx.actor.person_id, at=ctx.at)

    def reopen(self, reason: str, ctx: Context) -> None:
        if self.status != "resolved":
            raise Conflict(f"only a resolved incident can be reopened; this one is {self.status}", rule="R15")
        self._authorize("reopen", ctx)
        self._require_text("reason", reason, "R15")
        self._reopened(reason=reason, by=ctx.actor.person_id, at=ctx.at,
                       manager_since=ctx.tenure_start(self.manager, ctx.at))

    def close(self, by: str, at: datetime) -> bool:
        """The post-mortem was published (R16); False when already closed."""
        if self.status == "closed":
            return False
        self._closed(by=by, at=at)
        return True
