"""Use cases for the organisation — people, tokens, the process, the SME directory, minor reports —
and the plumbing every use case shares (saving, loading, refusing)."""
import difflib
import secrets
import time
from collections.abc import Callable
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.incident import organisation as org
from services.incident.errors import Conflict, Forbidden, Invalid, NotFound
from services.incident.policy import Actor
from shared.process import hours
from shared.process.document import ProcessDocument, default_process
from shared.process.rules import Rules
from shared.clock import Clock
from shared.idempotency import Answer
from shared.organisation import token_hash

AUTH_CACHE_SECONDS = 2.0


class OrganisationApplication(Application):
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000"}

    def __init__(self, env=None, clock: Clock | None = None):
        super().__init__(env)
        self.clock = clock or Clock()
        # Called after every successful save, so the relay publishes at once instead of polling.
        self.on_saved: Callable[[], None] = lambda: None
        self._versions: dict[int, dict] = {}
        self._hours: dict[str, dict | None] = {}  # person id -> hours (hours_of)
        # id(document) -> (document, its rules): a version's rules are parsed once (versions never change).
        self._rules: dict[int, tuple[dict, Rules]] = {}
        # token hash -> (actor, valid until): spares two reads per request. Another replica's
        # revocation takes effect here within AUTH_CACHE_SECONDS; this replica's at once.
        self._actors: dict[str, tuple[Actor, float]] = {}

    # --- plumbing ---

    def _save(self, *aggregates, answer: Answer | None = None) -> None:
        """``answer``: a keyed request's reply, recorded with its key in the events' commit (recorder.py).
        IntegrityError (a concurrent write) is the caller's to handle; ``Answered`` the middleware's."""
        if answer is None:
            self.save(*aggregates)
        else:
            self.save(*aggregates, answer=answer)
        for aggregate in aggregates:
            if isinstance(aggregate, org.Person):
                self._hours.pop(str(aggregate.id), None)
        self.on_saved()

    def _save_or_conflict(self, *aggregates) -> None:
        try:
            self._save(*aggregates)
        except IntegrityError as exc:
            raise Conflict("another command changed this first; read it again and retry") from exc

    def _get(self, cls, aggregate_id, what: str, version: int | None = None):
        try:
            aggregate = self.repository.get(UUID(str(aggregate_id)), version=version)
        except (AggregateNotFoundError, ValueError):
            raise NotFound(f"no such {what}: {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"no such {what}: {aggregate_id}")
        return aggregate

    def _exists(self, aggregate_id) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def person(self, person_id: str) -> org.Person:
        return self._get(org.Person, person_id, "person")

    def hours_of(self, person_id: str) -> dict | None:
        """What the time rules read of a person (R11): their timezone, working and waking hours; None
        for nobody registered (paged at once, as no hours are known). Kept once read: every answer about
        an incident whose page waits shows its deadline, and a person's hours change only when saved
        here (registering); an edit of hours must drop the entry, here and on other replicas."""
        if person_id not in self._hours:
            try:
                self._hours[person_id] = hours.hours_of(self.person(person_id).hours())
            except NotFound:
                return None
        return self._hours[person_id]

    def require_people(self, field: str, *people: str) -> None:
        for person in people:
            try:
                self.person(person)
            except NotFound:
                raise Invalid(f"{field}: no registered person {person}",
                              errors=[{"field": field, "message": f"unknown person {person}"}]) from None

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if not actor.admin:
            raise Forbidden("only an admin may configure the process, directory, people and tokens",
                            rule="permissions: configure process, directory, people, tokens")

    # --- the built-in admin and first start ---

    def ensure_admin(self, admin_token: str) -> None:
        """Register the built-in admin, make ``admin_token`` its token (rotating the old one), seed the process.

        Replicas starting together race here: the one whose write loses reads again and finds it done."""
        for attempt in range(3):
            try:
                return self._ensure_admin_once(admin_token)
            except IntegrityError:
                if attempt == 2:
                    raise

    def _ensure_admin_once(self, admin_token: str) -> None:
        if not self._exists(org.ADMIN_ID):
            self._save(org.Person(id=org.ADMIN_ID, name="Admin", email="admin@warroom.invalid", timezone="UTC",
                                  phone=None, groups=[], working_hours={"start": "00:00", "end": "24:00",
                                                                       "days": [1, 2, 3, 4, 5, 6, 7]},
                                  waking_hours=None, webhook_url=None, admin=True))
        digest = token_hash(admin_token)
        token_id = org.token_id_for(digest)
        changed = []
        try:
            token = self.repository.get(token_id)
            if token.revoked:
                token.reinstate()
                changed.append(token)
        except AggregateNotFoundError:
            changed.append(org.Token(id=token_id, person_id=str(org.ADMIN_ID), token_hash=digest))
        try:
            credential = self.repository.get(org.ADMIN_CREDENTIAL_ID)
            if credential.token_id != str(token_id):
                old = self.repository.get(UUID(credential.token_id))
                old.revoke()
                self._actors.pop(old.token_hash, None)
                credential.rotate(token_id=str(token_id))
                changed += [old, credential]
        except AggregateNotFoundError:
            changed.append(org.AdminCredential(id=org.ADMIN_CREDENTIAL_ID, token_id=str(token_id)))
        if changed:
            self._save(*changed)
        if not self._exists(org.PROCESS_ID):
            self._save(org.Process(id=org.PROCESS_ID, version=1, document=default_process(),
                                   by=str(org.ADMIN_ID), cites_postmortem=None))

    # --- people and tokens ---

    def recently_authenticated(self, token: str) -> Actor | None:
        """The caller from the cache alone (no I/O, so the event loop may ask); None when not cached."""
        cached = self._actors.get(token_hash(token))
        return cached[0] if cached and cached[1] > time.monotonic() else None

    def authenticate(self, token: str) -> Actor | None:
        if cached := self.recently_authenticated(token):
            return cached
        digest = token_hash(token)
        try:
            found = self.repository.get(org.token_id_for(digest))
            if found.revoked:
                return None
            person = self.repository.get(UUID(found.person_id))
        except AggregateNotFoundError:
            return None
        actor = Actor(person_id=str(person.id), admin=person.admin)
        self._actors[digest] = (actor, time.monotonic() + AUTH_CACHE_SECONDS)
        return actor

    def register_person(self, fields: dict, actor: Actor,
                        answer: Callable[[org.Person], Answer] | None = None) -> org.Person:
        self._require_admin(actor)
        person = org.Person(id=uuid4(), **fields)
        self._save(person, answer=answer and answer(person))
        return person

    def issue_token(self, person_id: str, actor: Actor,
                    answer: Callable[[str], Answer] | None = None) -> tuple[str, str]:
        """``answer`` is given the token's id only: the secret is shown once and never recorded (S11)."""
        self._require_admin(actor)
        self.require_people("person_id", person_id)
        secret = secrets.token_urlsafe(32)
        digest = token_hash(secret)
        token = org.Token(id=org.token_id_for(digest), person_id=person_id, token_hash=digest)
        self._save(token, answer=answer and answer(str(token.id)))
        return str(token.id), secret

    def revoke_token(self, token_id: str, actor: Actor) -> None:
        self._require_admin(actor)
        token = self._get(org.Token, token_id, "token")
        if token.person_id == str(org.ADMIN_ID):
            raise Conflict("the built-in admin's token is WARROOM_ADMIN_TOKEN: change the setting to rotate it")
        if not token.revoked:
            token.revoke()
            self._save_or_conflict(token)
        self._actors.pop(token.token_hash, None)

    # --- the process (R09, R11, R17) ---

    def process(self, version: int | None = None) -> tuple[int, dict]:
        if version in self._versions:  # published versions never change
            return version, self._versions[version]
        process = self._get(org.Process, org.PROCESS_ID, "process")
        number = version or process.current_version
        if not 1 <= number <= process.current_version:
            raise NotFound(f"no process version {number}")
        # The first copy read stays the version's document, so its parsed rules are found by identity.
        return number, self._versions.setdefault(number, process.versions[number - 1])

    def rules_of(self, document: dict) -> Rules:
        """The typed rules of a process version ``process`` returned (the very dict): parsed once."""
        cached = self._rules.get(id(document))
        if cached is None or cached[0] is not document:  # kept with its rules, so the id is never reused
            cached = self._rules[id(document)] = (document, Rules.of(document))
        return cached[1]

    def put_process(self, document: ProcessDocument, actor: Actor, cites_postmortem: str | None = None,
                    authorized: bool = False) -> tuple[int, dict]:
        if not authorized:
            self._require_admin(actor)
        if document.catch_all_sme:
            self.require_people("catch_all_sme", document.catch_all_sme)
        process = self._get(org.Process, org.PROCESS_ID, "process")
        if document.document() != process.current:
            process.publish(document.document(), by=actor.person_id, cites_postmortem=cites_postmortem)
            self._save_or_conflict(process)
        return process.current_version, process.current

    # --- the SME directory (R10) ---

    def directory(self) -> dict[str, list[str]]:
        try:
            return dict(self.repository.get(org.DIRECTORY_ID).aspects)
        except AggregateNotFoundError:
            return {}

    def declaration_coverage(self, aspect: str, gap: bool, paged: str) -> dict:
        """R10, for the declaration's answer: an unknown aspect (a typo at 04:00) still pages the catch-all,
        and the declarer learns the aspect was not found and which known aspects are nearest."""
        known = set(self.directory())
        return {"gap": gap, "aspect_known": aspect in known, "paged": paged,
                "did_you_mean": [] if aspect in known else nearest_aspects(aspect, known)}

    def coverage(self, declared_aspects: set[str]) -> dict:
        """R10's coverage report: the directory's aspects without an SME, the aspects incidents were declared
        for that have none (unknown ones too: their incidents paged the catch-all), and the catch-all."""
        directory = self.directory()
        _, document = self.process()
        catch_all = document.get("catch_all_sme") or None
        warnings = [] if catch_all else ["catch_all_sme is empty: declaring for an aspect without SMEs will be "
                                         "refused (R10)"]
        return {"uncovered": sorted(name for name, smes in directory.items() if not smes),
                "declared_without_sme": sorted(a for a in declared_aspects if not directory.get(a)),
                "catch_all_sme": catch_all, "warnings": warnings}

    def set_aspect(self, aspect: str, smes: list[str], actor: Actor) -> list[str]:
        self._require_admin(actor)
        if len(set(smes)) != len(smes):
            raise Invalid("an SME is listed twice", errors=[{"field": "smes", "message": "duplicates"}])
        self.require_people("smes", *smes)
        try:
            directory = self.repository.get(org.DIRECTORY_ID)
            directory.set_aspect(aspect=aspect, smes=smes, by=actor.person_id)
        except AggregateNotFoundError:
            directory = org.Directory(id=org.DIRECTORY_ID, aspect=aspect, smes=smes, by=actor.person_id)
        self._save_or_conflict(directory)
        return smes

    # --- minor reports (R12) ---

    def file_report(self, title: str, description: str, aspect: str, actor: Actor,
                    answer: Callable[[org.MinorReport], Answer] | None = None) -> org.MinorReport:
        report = org.MinorReport(title=title, description=description, aspect=aspect, by=actor.person_id)
        self._save(report, answer=answer and answer(report))
        return report


def nearest_aspects(aspect: str, known, n: int = 3) -> list[str]:
    """The known aspects closest to ``aspect`` as spelled, best first (case aside)."""
    by_folded = {}
    for name in sorted(known):
        by_folded.setdefault(name.casefold(), name)
    return [by_folded[m] for m in difflib.get_close_matches(aspect.casefold(), list(by_folded), n=n, cutoff=0.6)]
