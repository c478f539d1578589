"""Incident commands for handing the manager role over, and for R05's shift limit (R04, R05, R08).

The ``_…`` event methods these trigger are on ``Incident`` in domain.py (why: see there). No I/O here.
"""
from datetime import datetime

from services.incident.domain_context import Context
from services.incident.domain_guards import Guards, blank_field
from services.incident.errors import Conflict, Forbidden, Invalid


class HandoverCommands(Guards):
    def offer_handover(self, to: str, briefing: str, ctx: Context) -> None:
        self._command("offer_handover", ctx)
        if to == self.manager:
            raise Conflict("the offeree already manages this incident", rule="R04")
        if to == self.pr_manager:
            raise Conflict("the PR manager cannot become manager", rule="R08")
        if not briefing.strip():
            raise Invalid("a handover needs a briefing", rule="R04", errors=[blank_field("briefing")])
        self._handover_offered(to=to, briefing=briefing, by=ctx.actor.person_id)

    def _pending_offer_to(self, ctx: Context) -> dict:
        self._require_open()
        if self.handover_offer is None:
            raise Conflict("no handover is on offer", rule="R04")
        if self.handover_offer["to"] != ctx.actor.person_id:
            raise Forbidden("only the offeree may answer a handover offer", rule="R04")
        return self.handover_offer

    def accept_handover(self, ctx: Context) -> None:
        self._pending_offer_to(ctx)
        me = ctx.actor.person_id
        if me == self.pr_manager:  # made PR manager after the offer: R08 holds on every path to the role
            raise Conflict("the PR manager cannot become manager: decline the offer, or give up the PR "
                           "manager's role first", rule="R08")
        self._manager_changed(previous=self.manager, manager=me, how="accepted", reason="", by=me, timer_id=None,
                              removed_from_workers=me in self.workers, to_catch_all=False, at=ctx.at,
                              manager_since=ctx.tenure_start(me, ctx.at))

    def decline_handover(self, ctx: Context) -> None:
        offer = self._pending_offer_to(ctx)
        self._handover_declined(to=offer["to"], by=ctx.actor.person_id)

    def force_handover(self, to: str, reason: str, ctx: Context) -> None:
        self._command("force_handover", ctx)
        if to == self.manager:
            raise Conflict("that person already manages this incident", rule="R04")
        if to == self.pr_manager:
            raise Conflict("the PR manager cannot become manager", rule="R08")
        if not reason.strip():
            raise Invalid("a forced handover records its reason", rule="R04", errors=[blank_field("reason")])
        self._manager_changed(previous=self.manager, manager=to, how="forced", reason=reason,
                              by=ctx.actor.person_id, timer_id=None, removed_from_workers=to in self.workers,
                              to_catch_all=False, at=ctx.at, manager_since=ctx.tenure_start(to, ctx.at))

    def record_shift_breach(self, manager: str, tenure_started_at: datetime, limit: str, timer_id: str) -> bool:
        if self.status != "open" or manager != self.manager or timer_id in self.handled_timers:
            return False
        self._shift_limit_breached(manager=manager, tenure_started_at=tenure_started_at.isoformat(), limit=limit,
                                   timer_id=timer_id)
        return True
