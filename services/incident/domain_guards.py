"""What every incident command checks before its own rule: who may, whether the incident is open,
that required text is not blank (no I/O here)."""
from datetime import datetime

from services.incident import policy
from services.incident.domain_context import Context
from services.incident.errors import Conflict, Forbidden, Invalid
from shared.process import timing


def blank_field(field: str) -> dict:
    return {"field": field, "message": "must not be blank"}


class Guards:
    """Mixed into ``Incident`` (domain.py), whose state these read."""

    def roles_of(self, person: str) -> set[str]:
        held = {"manager": person == self.manager, "worker": person in self.workers, "sme": person in self.smes,
                "observer": person in self.observers, "pr_manager": person == self.pr_manager}
        return {role for role, holds in held.items() if holds}

    def _authorize(self, action: str, ctx: Context) -> None:
        roles = policy.roles_of(ctx.actor, self) & policy.PERMISSIONS[action]
        if not roles:
            raise Forbidden(f"{action.replace('_', ' ')} is not permitted to this caller on this incident",
                            rule=policy.rule_for(action))
        # R05 binds the person who manages, whatever else they are: an admin managing past the limit
        # may still offer the handover, and force one (an admin's own power, not a manager command).
        if (ctx.actor.person_id == self.manager and "manager" in policy.PERMISSIONS[action]
                and action != "offer_handover" and self.over_shift_limit(ctx)):
            raise Conflict("the manager has reached the shift limit: only offering the handover remains",
                           rule="R05")

    def manager_tenure_started(self, ctx: Context) -> datetime:
        """R05: when the manager's continuous tenure began. Fixed while they manage this incident; a
        resolved incident is managed by nobody, so reopening it counts the tenure as it stands then
        (a long enough break since resolving starts a new one)."""
        if self.status == "open":
            return self.manager_since
        return ctx.tenure_start(self.manager, ctx.at)

    def over_shift_limit(self, ctx: Context) -> bool:
        return timing.over_shift_limit(self.manager_tenure_started(ctx), ctx.at, ctx.rules)

    def _require_open(self) -> None:
        if self.status != "open":
            raise Conflict(f"the incident is {self.status}", rule="R15")

    def _command(self, action: str, ctx: Context) -> None:
        # The role first: a caller without it learns nothing about the incident's state (403 before 409).
        self._authorize(action, ctx)
        self._require_open()

    @staticmethod
    def _require_text(field: str, value: str, rule: str) -> None:
        if not value.strip():
            raise Invalid(f"{field} must not be blank", rule=rule, errors=[blank_field(field)])
