"""The incident service's use cases on the event store: incidents (organisation.py has the rest).

Synchronous (the eventsourcing library is): the API calls these from FastAPI's threadpool.
"""
import random
import time
from collections.abc import Callable
from typing import TypeVar
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, OperationalError
from pydantic import ValidationError

from services.incident import duties, moment, tenure, turns
from services.incident import organisation as org
from services.incident.domain import Context, Incident
from services.incident.domain.severity import level_refused
from services.incident.errors import Conflict, Forbidden, Invalid, NotFound
from services.incident.organisation_app import OrganisationApplication, nearest_aspects
from services.incident.policy import Actor
from shared.idempotency import Answer
from shared.process.document import ProcessDocument, merge_patch
from shared import durations

# A command that lost a race to another replica (on its incident, or on a person's tenure or load) is
# loaded and checked again, however often, for this long: only a service in trouble takes so long.
CONTENTION_SECONDS = 30.0


T = TypeVar("T")


class Stale(Conflict):
    """If-Match named another version (412)."""
    status = 412


class Contended(OperationalError):
    """Still losing races after CONTENTION_SECONDS: answered 503 like an unreachable store, nothing changed."""


class IncidentApplication(OrganisationApplication):
    name = "incident"
    # A person's time records grow with every incident they join: snapshots keep loading them flat too.
    snapshotting_intervals = {Incident: 100, tenure.ManagerTenure: 100, tenure.WorkerLoad: 100}

    def __init__(self, env=None, clock=None):
        super().__init__(env, clock)
        self._turns = turns.Turns()

    # --- reading ---

    def incident(self, incident_id: str, as_of: datetime | None = None) -> Incident:
        if as_of is None:
            return self._get(Incident, incident_id, "incident")
        current = self._get(Incident, incident_id, "incident")
        version = self._version_at(current, as_of)
        if version is None:
            raise NotFound(f"incident {incident_id} did not exist at {as_of.isoformat()}")
        return self._get(Incident, incident_id, "incident", version=version)

    def _version_at(self, incident: Incident, as_of: datetime) -> int | None:
        """The last version stored at or before ``as_of``: a binary search, one event read per step."""
        low, high, found = 1, incident.version, None
        while low <= high:
            middle = (low + high) // 2
            stored = self.recorder.select_events(incident.id, gt=middle - 1, lte=middle, limit=1)
            if self.mapper.to_domain_event(stored[0]).timestamp <= as_of:
                found, low = middle, middle + 1
            else:
                high = middle - 1
        return found

    def process_of(self, incident: Incident) -> dict:
        return self.process(incident.process_version)[1]

    def representation(self, incident: Incident) -> dict:
        """The incident as the API shows it, with what is due next for its manager (R20)."""
        return {"due": duties.due_next(incident, self.rules_of(self.process_of(incident)), self.hours_of)}

    def _maybe(self, aggregate_id: UUID):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    # --- declaring ---

    def declare(self, title: str, description: str, aspect: str, severity: int, manager: str | None,
                actor: Actor, answer: Callable[[Incident], Answer] | None = None) -> Incident:
        version, document = self.process()
        if severity not in self.rules_of(document).levels:
            raise level_refused("severity", severity, self.rules_of(document))
        directory = self.directory()
        smes = directory.get(aspect, [])
        coverage_gap = not smes
        if coverage_gap:  # R10: an aspect without SMEs, or unknown (a typo?), pages the catch-all
            if not (catch_all := self.rules_of(document).catch_all_sme):
                detail = f"nobody to page: aspect {aspect!r} has no SME and no catch_all_sme is set"
                if aspect not in directory and (nearest := nearest_aspects(aspect, directory)):
                    detail += f"; did you mean {nearest[0]!r}?"
                raise Conflict(detail, rule="R10")
            smes = [catch_all]
        if manager is not None:
            self.require_people("manager", manager)
        paged = manager or smes[0]

        def attempt() -> Incident:
            ctx = self._context(actor, document)
            now = ctx.at
            with moment.of_command(now):
                incident = Incident(title=title, description=description, aspect=aspect, severity=severity,
                                    manager=paged, smes=smes, declared_by=actor.person_id,
                                    process_version=version, paged=paged, coverage_gap=coverage_gap, at=now,
                                    manager_since=ctx.tenure_start(paged, now))
            tracked = self._track_time(None, incident, document, now)
            self._save(incident, *tracked, answer=answer and answer(incident))
            return incident
        return self._in_turn({turns.person_key(paged)}, attempt)

    # --- commands on an incident ---

    def command(self, incident_id: str, expected_version: int | None, actor: Actor,
                change: Callable[[Incident, Context], object],
                answer: Callable[[Incident], Answer] | None = None) -> Incident:
        """Load, check, apply one change, save with the people's time records; If-Match mismatch is 412.

        A command that lost a race is loaded and checked again on the new state (§5): it applies if its
        rule still holds and is refused only by the rule — or, with If-Match, as stale (412).
        ``answer`` renders the reply from the changed incident before it is saved: a keyed request's
        reply is recorded in the same commit as the events (F10)."""
        def attempt() -> Incident:
            incident = self._get(Incident, incident_id, "incident")
            if expected_version is not None and incident.version != expected_version:
                raise Stale(f"the incident is at version {incident.version}, not {expected_version}")
            if incident.status == "closed":
                raise Conflict("the incident is closed: its post-mortem was published", rule="R15")
            document = self.process_of(incident)
            ctx = self._context(actor, document)
            before = _activity(incident)
            with moment.of_command(ctx.at):
                change(incident, ctx)
            tracked = self._track_time(before, incident, document, ctx.at)
            self._save(incident, *tracked, answer=answer and answer(incident))
            return incident
        return self._in_turn({turns.incident_key(incident_id)}, attempt)

    def _in_turn(self, keys: set[str], attempt: Callable[[], T]) -> T:
        """Run ``attempt`` holding this replica's locks on what it changes (turns.py), again until it is
        saved: with the locks it learnt it needs (``Busy``), or after another replica won a race."""
        deadline, pause = time.monotonic() + CONTENTION_SECONDS, 0.002
        while True:
            held = self._turns.hold(keys)
            try:
                return attempt()
            except turns.Busy as busy:
                keys = keys | set(held.locks) | {busy.key}
                continue
            except IntegrityError:
                if time.monotonic() > deadline:
                    raise Contended("still losing races to other commands; nothing was changed") from None
            finally:
                held.release()
            # Another replica saved first: a random pause so the two do not meet again in step.
            time.sleep(random.uniform(0, pause))
            pause = min(pause * 2, 0.1)

    def _context(self, actor: Actor, document: dict) -> Context:
        rules = self.rules_of(document)
        rest = rules.manager_min_break

        def tenure_start(person: str, at: datetime) -> datetime:
            """R05: a person already managing, or back within manager_min_break, continues their tenure."""
            self._turns.take(turns.person_key(person))
            record = self._maybe(tenure.tenure_id(person))
            return at if record is None else record.tenure_start(at, rest)

        def name_of(person: str) -> str:
            """For a refusal that says who may act: read only when a command is refused."""
            try:
                return self.person(person).name
            except NotFound:
                return person

        return Context(actor=actor, at=self.clock.now(), process=document, tenure_start=tenure_start,
                       hours_of=self.hours_of, rules=rules, name_of=name_of)

    def worker_freshness(self, person: str, incident: Incident) -> tuple[int, bool]:
        """R19: seconds on incidents in the last 24 hours, and whether that is within worker_fresh_for."""
        self._turns.take(turns.person_key(person))  # read under the lock its saving takes
        load = self._maybe(tenure.load_id(person))
        worked = load.worked(self.clock.now()) if load else timedelta(0)  # timing.worked, across incidents
        return int(worked.total_seconds()), worked <= self.rules_of(self.process_of(incident)).worker_fresh_for

    def _track_time(self, before: tuple | None, incident: Incident, document: dict, at: datetime) -> list:
        """Start and end managers' tenure (R05) and workers' load (R19) as this change moved them."""
        old_manager, old_workers = before or (None, set())
        new_manager, new_workers = _activity(incident)
        incident_id = str(incident.id)
        changed = []
        if old_manager != new_manager:
            if old_manager:
                changed.append(self._tenure(old_manager, lambda t: t.end(incident=incident_id, at=at)))
            if new_manager:
                rest = self.rules_of(document).manager_min_break.total_seconds()
                changed.append(self._tenure(new_manager, lambda t: t.start(incident=incident_id, at=at,
                                                                           min_break_seconds=rest)))
        for person in old_workers - new_workers:
            changed.append(self._load(person, lambda w: w.end(incident=incident_id, at=at)))
        for person in new_workers - old_workers:
            changed.append(self._load(person, lambda w: w.start(incident=incident_id, at=at)))
        return changed

    def _tenure(self, person: str, change):
        self._turns.take(turns.person_key(person))
        record = self._maybe(tenure.tenure_id(person)) or tenure.ManagerTenure(id=tenure.tenure_id(person),
                                                                              person=person)
        change(record)
        return record

    def _load(self, person: str, change):
        self._turns.take(turns.person_key(person))
        record = self._maybe(tenure.load_id(person)) or tenure.WorkerLoad(id=tenure.load_id(person), person=person)
        change(record)
        return record

    # --- process refinements from a post-mortem (R17) ---

    def may_refine(self, postmortem: str, actor: Actor) -> None:
        """R17: the cited incident exists and the caller is an admin or one of its managers (past ones too)."""
        incident = self._get(Incident, postmortem, "post-mortem")
        if not actor.admin and actor.person_id not in incident.managers:
            raise Forbidden("only the cited incident's managers (past ones too) and admins apply its refinements",
                            rule="R17")

    def apply_refinement(self, postmortem: str, action_item: int, change: dict, recorded: dict, actor: Actor,
                         answer: Callable[[int, dict], Answer] | None = None
                         ) -> tuple[int, dict]:
        """Publish a new process version at once, citing the post-mortem (its incident's id) and the action
        item ``recorded`` on it (as the post-mortem stream told it): only a process refinement, with exactly
        its change, once. Two applying it at once: the one that loses is checked again, and refused."""
        self.may_refine(postmortem, actor)
        item = f"action item {action_item} of post-mortem {postmortem}"
        if recorded["kind"] != "process_refinement":
            raise Conflict(f"{item} is a {recorded['kind']} item: only a process refinement changes the process",
                           rule="R17")
        if change != recorded["change"]:
            raise Conflict(f"the change differs from the one recorded on {item}; nothing was changed", rule="R17",
                           errors=[{"field": "change", "message": "must be exactly the recorded change"}])

        def attempt() -> tuple[int, dict]:
            process = self._get(org.Process, org.PROCESS_ID, "process")
            if process.has_applied(postmortem, action_item):
                raise Conflict(f"{item} was already applied", rule="R17")
            current = process.current
            try:
                document = ProcessDocument.model_validate(merge_patch(current, change))
            except ValidationError as exc:
                errors = [{"field": ".".join(str(p) for p in e["loc"]) or "change", "message": e["msg"]}
                          for e in exc.errors()]
                raise Invalid("the change no longer fits the current process; nothing was changed", rule="R17",
                              errors=errors) from None
            if document.document() == current:
                raise Conflict("the change is already part of the current process", rule="R17")
            if document.catch_all_sme:
                self.require_people("catch_all_sme", document.catch_all_sme)
            process.publish(document.document(), by=actor.person_id, cites_postmortem=postmortem,
                            cites_action_item=action_item)
            self._save(process, answer=answer and answer(process.current_version, process.current))
            return process.current_version, process.current
        return self._in_turn({"process"}, attempt)

    # --- consequences of other services' events ---

    def escalate(self, incident_id: str, person: str, timer_id: str) -> bool:
        """The ack_due timer fired (R11): page the next SME, then the catch-all, then tell observers.
        Nothing changes for a stale timer (answered, handed over, another page) or one early by the
        incident's own reckoning of the page's deadline (Incident.escalate)."""
        return self._system_command(incident_id, lambda i, ctx: i.escalate(timer_id, person, ctx))

    def record_shift_breach(self, incident_id: str, manager: str, timer_id: str) -> bool:
        """The shift_limit timer fired (R05): record the breach if the incident's own clock agrees."""
        def change(incident, ctx):
            if incident.manager != manager or not incident.over_shift_limit(ctx):
                return False
            limit = durations.format(ctx.rules.manager_shift_limit)
            return incident.record_shift_breach(manager, incident.manager_since, limit, timer_id)
        return self._system_command(incident_id, change)

    def close_incident(self, incident_id: str, by: str) -> bool:
        """The post-mortem was published (R16)."""
        return self._system_command(incident_id, lambda i, ctx: i.close(by, ctx.at))

    def _system_command(self, incident_id: str, change) -> bool:
        """A consequence decided here of another service's event; False when it no longer applies."""
        try:
            incident = self._get(Incident, incident_id, "incident")
        except NotFound:
            return False
        if incident.status == "closed":
            return False
        applied = []
        self.command(incident_id, None, Actor("warroom"), lambda i, ctx: applied.append(change(i, ctx)))
        return bool(applied and applied[0])


def _activity(incident: Incident) -> tuple[str | None, set[str]]:
    """Who is managing and who is working on the incident right now (nobody once it is resolved)."""
    if incident.status != "open":
        return None, set()
    return incident.manager, set(incident.workers)
