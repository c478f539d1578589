"""Handing the manager role over, and R05's shift limit (R04, R05, R08). No I/O here.

The change of manager itself is ``ManagerChanged`` in roles.py (R03); the limit that stops a manager's
commands is checked for every command in base.py (``Guards._authorize``).
"""

from datetime import datetime

from services.incident import policy
from services.incident.domain.base import Context, HandoverOffer, IncidentEvent, State, blank_field
from services.incident.domain.roles import Roles
from services.incident.errors import Conflict, Forbidden, Invalid


class HandoverOffered(IncidentEvent):
    to: str
    briefing: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.handover_offer = {"to": self.to, "briefing": self.briefing, "by": self.by}


class HandoverDeclined(IncidentEvent):
    to: str
    by: str

    def apply(self, aggregate: State) -> None:
        aggregate.handover_offer = None


class ShiftLimitBreached(IncidentEvent):
    """R05: the manager reached the limit (the timer ``timer_id`` said so); recorded for the post-mortem."""

    manager: str
    tenure_started_at: str
    limit: str
    timer_id: str

    def apply(self, aggregate: State) -> None:
        aggregate.breaches.append({"manager": self.manager, "tenure_started_at": self.tenure_started_at})
        aggregate.handled_timers.append(self.timer_id)


class Handover(Roles):
    def offer_handover(self, to: str, briefing: str, ctx: Context) -> None:
        self._command("offer_handover", ctx)
        self._may_take_over(to, "the offeree", "briefing", briefing, "a handover needs a briefing")
        self._record(HandoverOffered, to=to, briefing=briefing, by=ctx.actor.person_id)

    def _may_take_over(self, to: str, who: str, field: str, text: str, blank: str) -> None:
        """R04/R08: ``to`` (``who``, as the refusal names them) may be handed the role — not the manager
        already, not the PR manager — and the handover's ``field`` says something (``blank`` if not)."""
        if to == self.manager:
            raise Conflict(f"{who} already manages this incident", rule="R04")
        if to == self.pr_manager:
            raise Conflict("the PR manager cannot become manager", rule="R08")
        if not text.strip():
            raise Invalid(blank, rule="R04", errors=[blank_field(field)])

    def _pending_offer_to(self, ctx: Context) -> HandoverOffer:
        self._require_open()
        if self.handover_offer is None:
            raise Conflict("no handover is on offer", rule="R04")
        if not policy.allowed("answer_handover", ctx.actor, self):  # the person offered it (the table's row)
            raise Forbidden(
                f"only the person offered the handover may answer it: it was offered to "
                f"{ctx.name_of(self.handover_offer['to'])}",
                rule="R04",
            )
        return self.handover_offer

    def accept_handover(self, ctx: Context) -> None:
        self._pending_offer_to(ctx)
        me = ctx.actor.person_id
        if me == self.pr_manager:  # made PR manager after the offer: R08 holds on every path to the role
            raise Conflict(
                "the PR manager cannot become manager: decline the offer, or give up the PR manager's role first",
                rule="R08",
            )
        self._change_manager(me, "accepted", "", me, ctx)

    def decline_handover(self, ctx: Context) -> None:
        offer = self._pending_offer_to(ctx)
        self._record(HandoverDeclined, to=offer["to"], by=ctx.actor.person_id)

    def force_handover(self, to: str, reason: str, ctx: Context) -> None:
        self._command("force_handover", ctx)
        self._may_take_over(to, "that person", "reason", reason, "a forced handover records its reason")
        self._change_manager(to, "forced", reason, ctx.actor.person_id, ctx)

    def record_shift_breach(self, manager: str, tenure_started_at: datetime, limit: str, timer_id: str) -> bool:
        """R05: the shift-limit timer fired; False (nothing changes) when it no longer applies."""
        if self.status != "open" or manager != self.manager or timer_id in self.handled_timers:
            return False
        self._record(
            ShiftLimitBreached,
            manager=manager,
            tenure_started_at=tenure_started_at.isoformat(),
            limit=limit,
            timer_id=timer_id,
        )
        return True
