"""Incident commands for the page: acknowledging it and escalating it when unanswered (R02, R11).

The ``_…`` event methods these trigger are on ``Incident`` in domain.py (why: see there). No I/O here.
"""
from services.incident.domain_context import Context
from services.incident.domain_guards import Guards
from services.incident.errors import Conflict, Forbidden


class PagingCommands(Guards):
    def acknowledge(self, ctx: Context) -> None:
        self._require_open()
        if ctx.actor.person_id != self.paged:
            raise Forbidden("only the paged person acknowledges their page", rule="R11")
        if self.acknowledged:
            raise Conflict("the page was already acknowledged", rule="R11")
        self._acknowledged(person=ctx.actor.person_id)

    def next_to_page(self, catch_all: str | None) -> tuple[str | None, bool]:
        """Who an unanswered page escalates to: the next SME not yet paged, then the catch-all."""
        for sme in self.smes:
            if sme not in self.pages:
                return sme, False
        if catch_all and catch_all not in self.pages:
            return catch_all, True
        return None, False

    def escalate(self, timer_id: str, person: str, ctx: Context) -> bool:
        """The ack_due timer fired for ``person``; returns False when it no longer applies."""
        if self.status != "open" or self.acknowledged or person != self.paged or timer_id in self.handled_timers:
            return False
        nxt, to_catch_all = self.next_to_page(ctx.process.get("catch_all_sme"))
        if nxt is None:
            self._page_unanswered(paged=self.paged, timer_id=timer_id)
        else:
            self._manager_changed(previous=self.manager, manager=nxt, how="escalated", by="warroom",
                                  reason=f"{person} did not acknowledge the page", timer_id=timer_id,
                                  removed_from_workers=nxt in self.workers, to_catch_all=to_catch_all, at=ctx.at,
                                  manager_since=ctx.tenure_start(nxt, ctx.at))
        return True
