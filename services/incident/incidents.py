"""Incidents: reading one (now or as of a moment), declaring, and every command on it, with the loop
that runs a command again when it lost a race."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from eventsourcing.persistence import IntegrityError, OperationalError

from services.incident import duties, moment, past_version, turns
from services.incident.domain import Context, Incident
from services.incident.domain.severity import level_refused
from services.incident.errors import Conflict, NotFound
from services.incident.organisation_app import nearest_aspects
from services.incident.policy import Actor
from services.incident.timekeeping import activity
from shared.idempotency import Answer

# A command that lost a race to another replica (on its incident, or on a person's tenure or load) is
# loaded and checked again, however often, for this long: only a service in trouble takes so long.
CONTENTION_SECONDS = 30.0

T = TypeVar("T")


class Stale(Conflict):
    """If-Match named another version (412)."""

    status = 412


class Contended(OperationalError):
    """Still losing races after CONTENTION_SECONDS: answered 503 like an unreachable store, nothing changed."""


def in_turn(store, keys: set[str], attempt: Callable[[], T]) -> T:
    """Run ``attempt`` holding this replica's locks on what it changes (turns.py), again until it is
    saved: with the locks it learnt it needs (``Busy``), or after another replica won a race."""
    deadline, pause = time.monotonic() + CONTENTION_SECONDS, 0.002
    while True:
        held = store.turns.hold(keys)
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


@dataclass(frozen=True)
class Declaration:
    """A declaration checked (Incidents.declaration): the process version, the aspect's SMEs, whether it has
    none (R10: the catch-all is paged), and whom to page."""

    version: int
    document: dict
    smes: list[str]
    coverage_gap: bool
    paged: str


class Incidents:
    def __init__(self, store, people, organisation, timekeeping):
        self.store, self.people, self.organisation = store, people, organisation  # store: the IncidentApplication
        self.timekeeping = timekeeping

    # --- reading ---

    def incident(self, incident_id: str, as_of: datetime | None = None) -> Incident:
        current = self.store.load(Incident, incident_id, "incident")
        if as_of is None:
            return current
        version = self._version_at(current, as_of)
        if version is None:
            raise NotFound(f"incident {incident_id} did not exist at {as_of.isoformat()}")
        return self.store.load(Incident, incident_id, "incident", version=version)

    def _version_at(self, incident: Incident, as_of: datetime) -> int | None:
        """The last version stored at or before ``as_of``: a binary search, in one statement (past_version.py)."""
        return past_version.version_at(self.store, incident.id, incident.version, as_of)

    def process_of(self, incident: Incident) -> dict:
        return self.organisation.process(incident.process_version)[1]

    def representation(self, incident: Incident) -> dict:
        """The incident as the API shows it, with what is due next for its manager (R20)."""
        rules = self.organisation.rules_of(self.process_of(incident))
        return {"due": duties.due_next(incident, rules, self.people.hours_of)}

    # --- declaring ---

    def declare(
        self,
        title: str,
        description: str,
        aspect: str,
        severity: int,
        manager: str | None,
        actor: Actor,
        answer: Callable[[Incident], Answer] | None = None,
    ) -> Incident:
        declaration = self.declaration(aspect, severity, manager)

        def attempt() -> Incident:
            incident, tracked = self.drafted(title, description, aspect, severity, declaration, actor)
            self.store.record(incident, *tracked, answer=answer and answer(incident))
            return incident

        return in_turn(self.store, {turns.person_key(declaration.paged)}, attempt)

    def declaration(self, aspect: str, severity: int, manager: str | None) -> Declaration:
        """What declaring needs, checked: the level (R09), whom to page (R02, R10) and the named manager."""
        version, document = self.organisation.process()
        if severity not in self.organisation.rules_of(document).levels:
            raise level_refused("severity", severity, self.organisation.rules_of(document))
        smes, coverage_gap = self._smes(aspect, document)
        if manager is not None:
            self.people.require_people("manager", manager)
        return Declaration(version, document, smes, coverage_gap, manager or smes[0])

    def drafted(
        self, title: str, description: str, aspect: str, severity: int, declaration: Declaration, actor: Actor
    ) -> tuple[Incident, list]:
        """The incident declared now, and the time records it moves: to save together (within a turn)."""
        ctx = self._context(actor, declaration.document)
        now, paged = ctx.at, declaration.paged
        with moment.of_command(now):
            incident = Incident(
                title=title,
                description=description,
                aspect=aspect,
                severity=severity,
                manager=paged,
                smes=declaration.smes,
                declared_by=actor.person_id,
                process_version=declaration.version,
                paged=paged,
                coverage_gap=declaration.coverage_gap,
                at=now,
                manager_since=ctx.tenure_start(paged, now),
            )
        return incident, self.timekeeping.track(None, incident, declaration.document, now)

    def _smes(self, aspect: str, document: dict) -> tuple[list[str], bool]:
        """The aspect's SMEs, and whether it has none (R10: then the catch-all, or nobody and a refusal)."""
        directory = self.organisation.directory()
        if smes := directory.get(aspect, []):
            return smes, False
        # R10: an aspect without SMEs, or unknown (a typo?), pages the catch-all
        if not (catch_all := self.organisation.rules_of(document).catch_all_sme):
            detail = f"nobody to page: aspect {aspect!r} has no SME and no catch_all_sme is set"
            if aspect not in directory and (nearest := nearest_aspects(aspect, directory)):
                detail += f"; did you mean {nearest[0]!r}?"
            raise Conflict(detail, rule="R10")
        return [catch_all], True

    # --- commands on an incident ---

    def command(
        self,
        incident_id: str,
        expected_version: int | None,
        actor: Actor,
        change: Callable[[Incident, Context], object],
        answer: Callable[[Incident], Answer] | None = None,
    ) -> Incident:
        """Load, check, apply one change, save with the people's time records; If-Match mismatch is 412.

        A command that lost a race is loaded and checked again on the new state (§5): it applies if its
        rule still holds and is refused only by the rule — or, with If-Match, as stale (412).
        ``answer`` renders the reply from the changed incident before it is saved: a keyed request's
        reply is recorded in the same commit as the events (F10)."""

        def attempt() -> Incident:
            incident, tracked = self.changed(incident_id, expected_version, actor, change)
            self.store.record(incident, *tracked, answer=answer and answer(incident))
            return incident

        return in_turn(self.store, {turns.incident_key(incident_id)}, attempt)

    def changed(
        self,
        incident_id: str,
        expected_version: int | None,
        actor: Actor,
        change: Callable[[Incident, Context], object],
    ) -> tuple[Incident, list]:
        """The incident with ``change`` applied, and the time records it moves: to save together (within a
        turn). A closed incident refuses (R15)."""
        incident = self.store.load(Incident, incident_id, "incident")
        if expected_version is not None and incident.version != expected_version:
            raise Stale(f"the incident is at version {incident.version}, not {expected_version}")
        if incident.status == "closed":
            raise Conflict("the incident is closed: its post-mortem was published", rule="R15")
        document = self.process_of(incident)
        ctx = self._context(actor, document)
        before = activity(incident)
        with moment.of_command(ctx.at):
            change(incident, ctx)
        return incident, self.timekeeping.track(before, incident, document, ctx.at)

    def _context(self, actor: Actor, document: dict) -> Context:
        rules = self.organisation.rules_of(document)

        def tenure_start(person: str, at: datetime) -> datetime:
            return self.timekeeping.tenure_start(person, at, rules.manager_min_break)

        def name_of(person: str) -> str:
            """For a refusal that says who may act: read only when a command is refused."""
            try:
                return self.people.person(person).name
            except NotFound:
                return person

        return Context(
            actor=actor,
            at=self.store.clock.now(),
            process=document,
            tenure_start=tenure_start,
            hours_of=self.people.hours_of,
            rules=rules,
            name_of=name_of,
        )
