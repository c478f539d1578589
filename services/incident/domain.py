"""The incident aggregate and the rules it enforces (no I/O here).

Stored events carry this module's path in their topic (``services.incident.domain:Incident.…``).
Public command methods check the rules, then trigger a private ``@event`` method whose body
only records the change, so replaying the history never re-checks a rule.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from services.incident import policy
from services.incident.errors import Conflict, Forbidden, Invalid, NotFound
from services.incident.policy import Actor
from shared.durations import parse

STATUS_PARTS = ("learned", "tried", "outcome", "working_on", "remaining")


@dataclass(frozen=True)
class Context:
    """What a command needs besides its own input: who asks, when, and the facts rules depend on."""
    actor: Actor
    at: datetime
    process: dict  # the process document the incident was declared under
    # R05: when a person's continuous tenure as manager began, were they to take an incident on at
    # a moment (their other incidents and breaks decide it): asked only when the manager changes.
    tenure_start: Callable[[str, datetime], datetime] = lambda person, at: at

    def level(self, number: int) -> dict:
        return next(level for level in self.process["levels"] if level["level"] == number)


def _blank(field: str) -> dict:
    return {"field": field, "message": "must not be blank"}


class Incident(Aggregate):
    @event("Declared")
    def __init__(self, title: str, description: str, aspect: str, severity: int, manager: str,
                 smes: list[str], declared_by: str, process_version: int, paged: str,
                 coverage_gap: bool, at: datetime, manager_since: datetime):
        self.title, self.description, self.aspect, self.severity = title, description, aspect, severity
        self.manager, self.smes, self.declared_by = manager, list(smes), declared_by
        self.process_version, self.paged, self.coverage_gap = process_version, paged, coverage_gap
        self.status, self.workers, self.observers = "open", [], []
        self.tired_workers: list[str] = []  # R19: added although already long on incidents
        self.pr_manager: str | None = None
        self.handover_offer: dict | None = None
        self.declared_at, self.resolved_at, self.closed_at = at, None, None
        self.level_since = at
        self.acknowledged, self.pages, self.paged_at = False, [paged], at
        self.managers = [manager]  # everyone who ever managed it, in order
        # When the manager's continuous tenure began (R05): fixed while they manage this incident.
        self.manager_since = manager_since
        self.handled_timers: list[str] = []  # a list: snapshots serialise the state as JSON
        self.breaches: list[dict] = []
        self.severity_inputs: list[dict] = []
        self.checklist_done: dict[str, dict] = {}
        self.last_status_at, self.last_public_update_at = at, at
        self.status_updates = 0
        self.resolution: dict | None = None

    # --- who is who, and who may ---

    def roles_of(self, person: str) -> set[str]:
        held = {"manager": person == self.manager, "worker": person in self.workers, "sme": person in self.smes,
                "observer": person in self.observers, "pr_manager": person == self.pr_manager}
        return {role for role, holds in held.items() if holds}

    def _authorize(self, action: str, ctx: Context) -> None:
        roles = policy.roles_of(ctx.actor, self) & policy.PERMISSIONS[action]
        if not roles:
            raise Forbidden(f"{action.replace('_', ' ')} is not permitted to this caller on this incident",
                            rule=policy.rule_for(action))
        if roles == {"manager"} and action != "offer_handover" and self.over_shift_limit(ctx):
            raise Conflict("the manager has reached the shift limit: only offering the handover remains",
                           rule="R05")

    def over_shift_limit(self, ctx: Context) -> bool:
        return ctx.at - self.manager_since >= parse(ctx.process["manager_shift_limit"])

    def _require_open(self) -> None:
        if self.status != "open":
            raise Conflict(f"the incident is {self.status}", rule="R15")

    def _command(self, action: str, ctx: Context) -> None:
        # The role first: a caller without it learns nothing about the incident's state (403 before 409).
        self._authorize(action, ctx)
        self._require_open()

    # --- acknowledgement and escalation (R02, R11) ---

    def acknowledge(self, ctx: Context) -> None:
        self._require_open()
        if ctx.actor.person_id != self.paged:
            raise Forbidden("only the paged person acknowledges their page", rule="R11")
        if self.acknowledged:
            raise Conflict("the page was already acknowledged", rule="R11")
        self._acknowledged(person=ctx.actor.person_id)

    @event("Acknowledged")
    def _acknowledged(self, person: str) -> None:
        self.acknowledged = True

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

    @event("PageUnanswered")
    def _page_unanswered(self, paged: str, timer_id: str) -> None:
        self.handled_timers.append(timer_id)

    # --- roles (R01, R03, R07, R08) ---

    def add_worker(self, person: str, worked_seconds: int, fresh: bool, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        if person == self.manager:
            raise Conflict("the manager never works on the problem: hand the role over first", rule="R03")
        if person == self.pr_manager:
            raise Conflict("the PR manager cannot be a worker", rule="R08")
        if person in self.workers:
            raise Conflict("already a worker of this incident", rule="R01")
        self._worker_added(person=person, by=ctx.actor.person_id, worked_seconds_last_24h=worked_seconds,
                           fresh=fresh)

    class WorkerAdded(Aggregate.Event):
        """Version 2 added R19's freshness; version 1 events read as a fresh worker with no time counted."""
        person: str
        by: str
        worked_seconds_last_24h: int
        fresh: bool
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state.setdefault("worked_seconds_last_24h", 0)
            state.setdefault("fresh", True)

    @event(WorkerAdded)
    def _worker_added(self, person: str, by: str, worked_seconds_last_24h: int, fresh: bool) -> None:
        self.workers.append(person)
        if not fresh:
            self.tired_workers.append(person)

    def remove_worker(self, person: str, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        if person not in self.workers:
            raise NotFound("not a worker of this incident", rule="R01")
        self._worker_removed(person=person, by=ctx.actor.person_id)

    @event("WorkerRemoved")
    def _worker_removed(self, person: str, by: str) -> None:
        self.workers.remove(person)
        if person in self.tired_workers:
            self.tired_workers.remove(person)

    def add_member(self, role: str, person: str, ctx: Context) -> None:
        """Add an SME or an observer."""
        self._command("manage_roles", ctx)
        members = self.smes if role == "sme" else self.observers
        if person in members:
            raise Conflict(f"already an {role} of this incident", rule="R01")
        (self._sme_added if role == "sme" else self._observer_added)(person=person, by=ctx.actor.person_id)

    def remove_member(self, role: str, person: str, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        members = self.smes if role == "sme" else self.observers
        if person not in members:
            raise NotFound(f"not an {role} of this incident", rule="R01")
        if role == "sme" and members == [person]:
            raise Conflict("an incident keeps at least one SME", rule="R01")
        (self._sme_removed if role == "sme" else self._observer_removed)(person=person, by=ctx.actor.person_id)

    @event("SmeAdded")
    def _sme_added(self, person: str, by: str) -> None:
        self.smes.append(person)

    @event("SmeRemoved")
    def _sme_removed(self, person: str, by: str) -> None:
        self.smes.remove(person)

    @event("ObserverAdded")
    def _observer_added(self, person: str, by: str) -> None:
        self.observers.append(person)

    @event("ObserverRemoved")
    def _observer_removed(self, person: str, by: str) -> None:
        self.observers.remove(person)

    def assign_pr_manager(self, person: str, ctx: Context) -> None:
        self._command("manage_roles", ctx)
        if person == self.manager or person in self.workers:
            raise Conflict("the PR manager must be neither the manager nor a worker", rule="R08")
        if person == self.pr_manager:
            raise Conflict("already the PR manager of this incident", rule="R08")
        self._pr_manager_assigned(person=person, previous=self.pr_manager, by=ctx.actor.person_id)

    @event("PrManagerAssigned")
    def _pr_manager_assigned(self, person: str, previous: str | None, by: str) -> None:
        self.pr_manager = person

    # --- handover (R04) ---

    def offer_handover(self, to: str, briefing: str, ctx: Context) -> None:
        self._command("offer_handover", ctx)
        if to == self.manager:
            raise Conflict("the offeree already manages this incident", rule="R04")
        if to == self.pr_manager:
            raise Conflict("the PR manager cannot become manager", rule="R08")
        if not briefing.strip():
            raise Invalid("a handover needs a briefing", rule="R04", errors=[_blank("briefing")])
        self._handover_offered(to=to, briefing=briefing, by=ctx.actor.person_id)

    @event("HandoverOffered")
    def _handover_offered(self, to: str, briefing: str, by: str) -> None:
        self.handover_offer = {"to": to, "briefing": briefing, "by": by}

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
        self._manager_changed(previous=self.manager, manager=me, how="accepted", reason="", by=me, timer_id=None,
                              removed_from_workers=me in self.workers, to_catch_all=False, at=ctx.at,
                              manager_since=ctx.tenure_start(me, ctx.at))

    def decline_handover(self, ctx: Context) -> None:
        offer = self._pending_offer_to(ctx)
        self._handover_declined(to=offer["to"], by=ctx.actor.person_id)

    @event("HandoverDeclined")
    def _handover_declined(self, to: str, by: str) -> None:
        self.handover_offer = None

    def force_handover(self, to: str, reason: str, ctx: Context) -> None:
        self._command("force_handover", ctx)
        if to == self.manager:
            raise Conflict("that person already manages this incident", rule="R04")
        if to == self.pr_manager:
            raise Conflict("the PR manager cannot become manager", rule="R08")
        if not reason.strip():
            raise Invalid("a forced handover records its reason", rule="R04", errors=[_blank("reason")])
        self._manager_changed(previous=self.manager, manager=to, how="forced", reason=reason,
                              by=ctx.actor.person_id, timer_id=None, removed_from_workers=to in self.workers,
                              to_catch_all=False, at=ctx.at, manager_since=ctx.tenure_start(to, ctx.at))

    @event("ManagerChanged")
    def _manager_changed(self, previous: str, manager: str, how: str, reason: str, by: str, timer_id: str | None,
                         removed_from_workers: bool, to_catch_all: bool, at: datetime,
                         manager_since: datetime) -> None:
        self.manager, self.manager_since = manager, manager_since
        if removed_from_workers:  # R03, in the same event
            self.workers.remove(manager)
            if manager in self.tired_workers:
                self.tired_workers.remove(manager)
        if manager not in self.managers:
            self.managers.append(manager)
        self.handover_offer = None
        if how == "escalated":  # the new manager is paged and must acknowledge in turn
            self.paged, self.acknowledged, self.paged_at = manager, False, at
            self.pages.append(manager)
            self.handled_timers.append(timer_id)

    def record_shift_breach(self, manager: str, tenure_started_at: datetime, limit: str, timer_id: str) -> bool:
        if self.status != "open" or manager != self.manager or timer_id in self.handled_timers:
            return False
        self._shift_limit_breached(manager=manager, tenure_started_at=tenure_started_at.isoformat(), limit=limit,
                                   timer_id=timer_id)
        return True

    @event("ShiftLimitBreached")
    def _shift_limit_breached(self, manager: str, tenure_started_at: str, limit: str, timer_id: str) -> None:
        self.breaches.append({"manager": manager, "tenure_started_at": tenure_started_at})
        self.handled_timers.append(timer_id)

    # --- severity (R13) ---

    def give_severity_input(self, level: int, comment: str, ctx: Context) -> None:
        self._command("give_severity_input", ctx)
        self._check_level(level, ctx)
        self._severity_input_given(level=level, comment=comment, by=ctx.actor.person_id)

    @event("SeverityInputGiven")
    def _severity_input_given(self, level: int, comment: str, by: str) -> None:
        self.severity_inputs.append({"sequence": self.version + 1, "level": level, "comment": comment, "by": by})

    def change_severity(self, level: int, reason: str, considered_input: list[int], ctx: Context) -> None:
        self._command("change_severity", ctx)
        self._check_level(level, ctx)
        if not reason.strip():
            raise Invalid("a severity change needs a reason", rule="R13", errors=[_blank("reason")])
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
        levels = sorted(lv["level"] for lv in ctx.process["levels"])
        if level not in levels:
            raise Invalid(f"level {level} is not a level of this incident's process", rule="R09",
                          errors=[{"field": "level", "message": f"one of {levels}"}])

    @event("SeverityChanged")
    def _severity_changed(self, previous: int, severity: int, reason: str, by: str, considered_input: list[int],
                          at: datetime) -> None:
        self.severity, self.level_since = severity, at

    # --- status, briefings, public updates, affected users (R06, R07, R08) ---

    def request_status(self, ctx: Context) -> None:
        self._command("request_status", ctx)
        if not self.workers:
            raise Conflict("there are no workers to report status", rule="R06")
        self._status_requested(by=ctx.actor.person_id, workers=list(self.workers), at=ctx.at)

    @event("StatusRequested")
    def _status_requested(self, by: str, workers: list[str], at: datetime) -> None:
        self.last_status_at = at

    def post_status_update(self, parts: dict[str, str | None], ctx: Context) -> None:
        self._command("post_status_update", ctx)
        gaps = [part for part in STATUS_PARTS if not (parts.get(part) or "").strip()]
        if gaps:
            raise Invalid(f"a status update needs all five parts; missing or blank: {', '.join(gaps)}",
                          rule="R06", errors=[{"field": part, "message": "missing or blank"} for part in gaps])
        self._status_updated(worker=ctx.actor.person_id, **{part: parts[part] for part in STATUS_PARTS}, at=ctx.at)

    @event("StatusUpdated")
    def _status_updated(self, worker: str, learned: str, tried: str, outcome: str, working_on: str, remaining: str,
                        at: datetime) -> None:
        self.status_updates += 1
        self.last_status_at = at

    def brief_observers(self, summary: str, ctx: Context) -> None:
        self._command("brief_observers", ctx)
        self._require_text("summary", summary, "R07")
        self._observers_briefed(summary=summary, by=ctx.actor.person_id)

    @event("ObserversBriefed")
    def _observers_briefed(self, summary: str, by: str) -> None:
        pass

    def post_public_update(self, message: str, ctx: Context) -> None:
        self._command("post_public_update", ctx)
        self._require_text("message", message, "R08")
        self._public_update_posted(message=message, by=ctx.actor.person_id, at=ctx.at)

    @event("PublicUpdatePosted")
    def _public_update_posted(self, message: str, by: str, at: datetime) -> None:
        self.last_public_update_at = at

    def request_affected_info(self, question: str, ctx: Context) -> None:
        self._command("request_affected_info", ctx)
        if self.pr_manager is None:
            raise Conflict("there is no PR manager to gather information from affected users", rule="R08")
        self._require_text("question", question, "R08")
        self._affected_info_requested(question=question, by=ctx.actor.person_id)

    @event("AffectedInfoRequested")
    def _affected_info_requested(self, question: str, by: str) -> None:
        pass

    def report_affected_info(self, findings: str, ctx: Context) -> None:
        self._command("report_affected_info", ctx)
        self._require_text("findings", findings, "R08")
        self._affected_info_reported(findings=findings, by=ctx.actor.person_id)

    @event("AffectedInfoReported")
    def _affected_info_reported(self, findings: str, by: str) -> None:
        pass

    @staticmethod
    def _require_text(field: str, value: str, rule: str) -> None:
        if not value.strip():
            raise Invalid(f"{field} must not be blank", rule=rule, errors=[_blank(field)])

    # --- the checklist (R14) ---

    def complete_step(self, step: str, ctx: Context) -> None:
        self._command("complete_checklist_step", ctx)
        steps = {s["id"] for s in ctx.level(self.severity)["checklist"]}
        if step not in steps:
            raise NotFound(f"level {self.severity} has no checklist step {step!r}", rule="R14")
        if step in self.checklist_done:
            raise Conflict(f"step {step!r} was already done", rule="R14")
        self._step_completed(step=step, level=self.severity, by=ctx.actor.person_id, at=ctx.at)

    @event("ChecklistStepCompleted")
    def _step_completed(self, step: str, level: int, by: str, at: datetime) -> None:
        self.checklist_done[step] = {"level": level, "by": by, "at": at}

    # --- lifecycle (R15, R16) ---

    def resolve(self, resolution: str, test_plan: str, ctx: Context) -> None:
        self._command("resolve", ctx)
        gaps = [name for name, value in (("resolution", resolution), ("test_plan", test_plan)) if not value.strip()]
        if gaps:
            raise Invalid("resolving needs a resolution and the test plan that verified the fix", rule="R15",
                          errors=[_blank(name) for name in gaps])
        self._resolved(resolution=resolution, test_plan=test_plan, by=ctx.actor.person_id, at=ctx.at)

    @event("Resolved")
    def _resolved(self, resolution: str, test_plan: str, by: str, at: datetime) -> None:
        self.status, self.resolved_at = "resolved", at
        self.resolution = {"resolution": resolution, "test_plan": test_plan}
        self.handover_offer = None

    def reopen(self, reason: str, ctx: Context) -> None:
        if self.status != "resolved":
            raise Conflict(f"only a resolved incident can be reopened; this one is {self.status}", rule="R15")
        self._authorize("reopen", ctx)
        self._require_text("reason", reason, "R15")
        self._reopened(reason=reason, by=ctx.actor.person_id, at=ctx.at,
                       manager_since=ctx.tenure_start(self.manager, ctx.at))

    @event("Reopened")
    def _reopened(self, reason: str, by: str, at: datetime, manager_since: datetime) -> None:
        self.status, self.resolved_at, self.resolution = "open", None, None
        self.manager_since = manager_since  # managing again: a tenure resumed or begun

    def close(self, by: str, at: datetime) -> bool:
        """The post-mortem was published (R16); False when already closed."""
        if self.status == "closed":
            return False
        self._closed(by=by, at=at)
        return True

    @event("Closed")
    def _closed(self, by: str, at: datetime) -> None:
        self.status, self.closed_at, self.handover_offer = "closed", at, None
