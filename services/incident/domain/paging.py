"""The page: acknowledging it, and escalating it when unanswered (R02, R08, R11). No I/O here.

An escalation changes the manager: ``ManagerChanged`` in roles.py (R03).
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.incident import policy
from services.incident.domain.base import Context, IncidentEvent, State
from services.incident.domain.roles import Roles
from services.incident.errors import Conflict, Forbidden
from shared.process import timing
from shared.process.rules import Rules

# A timer service's clock may run a little ahead of this one: an ack_due this close to the deadline
# is the deadline, not an early timer.
CLOCK_TOLERANCE = timedelta(seconds=1)


class Acknowledged(IncidentEvent):
    person: str

    def apply(self, aggregate: State) -> None:
        aggregate.acknowledged = True


class PageUnanswered(IncidentEvent):
    """Nobody is left to escalate to: the page stays with ``paged``."""

    paged: str
    timer_id: str

    def apply(self, aggregate: State) -> None:
        aggregate.handled_timers.append(self.timer_id)


class Paging(Roles):
    def acknowledge(self, ctx: Context) -> None:
        self._require_open()
        if not policy.allowed("acknowledge", ctx.actor, self):  # the paged person (the table's row)
            raise Forbidden(
                f"only the person paged may acknowledge the page: that is {ctx.name_of(self.paged)}", rule="R11"
            )
        if self.acknowledged:
            raise Conflict("the page was already acknowledged", rule="R11")
        self._record(Acknowledged, person=ctx.actor.person_id)

    def awaiting_acknowledgement(self) -> bool:
        """Whether the page still waits for its answer: unanswered, and the paged person still manages
        (a handover, accepted or forced, put someone in charge who needs no page)."""
        return self.status == "open" and not self.acknowledged and self.paged == self.manager

    def acknowledgement_due_at(self, rules: Rules, hours_of: Callable[[str], dict[str, Any] | None]) -> datetime | None:
        """R11: ``acknowledge_within`` after the level's immediacy lets the page out to the paged person
        (None: nobody is waited for, or the level sets no deadline)."""
        if not self.awaiting_acknowledgement():
            return None
        level = rules.level(self.paged_severity or self.severity)  # the page's level, not today's
        return timing.ack_due_at(hours_of(self.paged), level, self.paged_at)

    def next_to_page(self, catch_all: str | None) -> tuple[str | None, bool]:
        """Who an unanswered page escalates to: the next SME in the list's order not yet paged, then the
        catch-all. Never the PR manager (R08): they are skipped, as if already paged."""
        for sme in self.smes:
            if sme not in self.pages and sme != self.pr_manager:
                return sme, False
        if catch_all and catch_all not in self.pages and catch_all != self.pr_manager:
            return catch_all, True
        return None, False

    def escalate(self, timer_id: str, person: str, ctx: Context) -> bool:
        """The ack_due timer fired for ``person``; returns False (nothing changes) when it no longer applies:
        the timer was handled, the page was answered, ``person`` is not the one paged or no longer
        manages (a handover came first), or the page is not yet due by this incident's reckoning."""
        if self.status != "open" or timer_id in self.handled_timers:
            return False
        if person != self.paged or person != self.manager:
            return False  # a stale timer: someone else was paged since, or took over by handover
        assert ctx.rules is not None  # set by Context itself
        due = self.acknowledgement_due_at(ctx.rules, ctx.hours_of)
        if due is None or ctx.at < due - CLOCK_TOLERANCE:
            return False  # answered, or early: the page it counts from is not yet due
        nxt, to_catch_all = self.next_to_page(ctx.rules.catch_all_sme)
        if nxt is None:
            self._record(PageUnanswered, paged=self.paged, timer_id=timer_id)
        else:
            self._change_manager(
                nxt,
                "escalated",
                f"{person} did not acknowledge the page",
                "warroom",
                ctx,
                timer_id=timer_id,
                to_catch_all=to_catch_all,
            )
        return True
