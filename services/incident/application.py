"""The incident service's use cases: one method per command or query, on the event store.

Synchronous (the eventsourcing library is): the API calls these from FastAPI's threadpool.
"""
import secrets
from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.incident import domain
from services.incident.domain import Directory, Incident, Person, Process, Token
from services.incident.errors import Conflict, Forbidden, Invalid, NotFound
from services.incident.policy import Actor
from services.incident.process import ProcessDocument, default_process
from shared.clock import Clock
from shared.organisation import token_hash


class IncidentApplication(Application):
    name = "incident"
    snapshotting_intervals = {Incident: 100}
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "COMPRESSOR_TOPIC": ""}

    def __init__(self, env=None, clock: Clock | None = None):
        super().__init__(env)
        self.clock = clock or Clock()
        # Called after every successful save, so the relay publishes at once instead of polling.
        self.on_saved: Callable[[], None] = lambda: None

    # --- plumbing ---

    def _save(self, *aggregates) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError as exc:
            raise Conflict("another command changed this first; read it again and retry") from exc
        self.on_saved()

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

    def person(self, person_id: str) -> Person:
        return self._get(Person, person_id, "person")

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
        """Register the built-in admin, make ``admin_token`` its token (rotating the old one), seed the process."""
        if not self._exists(domain.ADMIN_ID):
            self._save(Person(id=domain.ADMIN_ID, name="Admin", email="admin@warroom.invalid", timezone="UTC",
                              phone=None, groups=[], working_hours={"start": "00:00", "end": "24:00",
                                                                     "days": [1, 2, 3, 4, 5, 6, 7]},
                              waking_hours=None, webhook_url=None, admin=True))
        digest = token_hash(admin_token)
        token_id = domain.token_id_for(digest)
        changed = []
        try:
            token = self.repository.get(token_id)
            if token.revoked:
                token.reinstate()
                changed.append(token)
        except AggregateNotFoundError:
            changed.append(Token(id=token_id, person_id=str(domain.ADMIN_ID), token_hash=digest))
        try:
            credential = self.repository.get(domain.ADMIN_CREDENTIAL_ID)
            if credential.token_id != str(token_id):
                old = self.repository.get(UUID(credential.token_id))
                old.revoke()
                credential.rotate(token_id=str(token_id))
                changed += [old, credential]
        except AggregateNotFoundError:
            changed.append(domain.AdminCredential(id=domain.ADMIN_CREDENTIAL_ID, token_id=str(token_id)))
        if changed:
            self._save(*changed)
        if not self._exists(domain.PROCESS_ID):
            self._save(Process(id=domain.PROCESS_ID, version=1, document=default_process(),
                               by=str(domain.ADMIN_ID), cites_postmortem=None))

    # --- people and tokens ---

    def authenticate(self, token: str) -> Actor | None:
        try:
            found = self.repository.get(domain.token_id_for(token_hash(token)))
            if found.revoked:
                return None
            person = self.repository.get(UUID(found.person_id))
        except AggregateNotFoundError:
            return None
        return Actor(person_id=str(person.id), admin=person.admin)

    def register_person(self, fields: dict, actor: Actor) -> Person:
        self._require_admin(actor)
        person = Person(id=uuid4(), **fields)
        self._save(person)
        return person

    def issue_token(self, person_id: str, actor: Actor) -> tuple[str, str]:
        self._require_admin(actor)
        self.require_people("person_id", person_id)
        secret = secrets.token_urlsafe(32)
        digest = token_hash(secret)
        token = Token(id=domain.token_id_for(digest), person_id=person_id, token_hash=digest)
        self._save(token)
        return str(token.id), secret

    def revoke_token(self, token_id: str, actor: Actor) -> None:
        self._require_admin(actor)
        token = self._get(Token, token_id, "token")
        if token.person_id == str(domain.ADMIN_ID):
            raise Conflict("the built-in admin's token is WARROOM_ADMIN_TOKEN: change the setting to rotate it")
        if not token.revoked:
            token.revoke()
            self._save(token)

    # --- the process (R09, R11) ---

    def process(self, version: int | None = None) -> tuple[int, dict]:
        process = self._get(Process, domain.PROCESS_ID, "process")
        number = version or process.current_version
        if not 1 <= number <= process.current_version:
            raise NotFound(f"no process version {number}")
        return number, process.versions[number - 1]

    def put_process(self, document: ProcessDocument, actor: Actor) -> tuple[int, dict]:
        self._require_admin(actor)
        if document.catch_all_sme:
            self.require_people("catch_all_sme", document.catch_all_sme)
        process = self._get(Process, domain.PROCESS_ID, "process")
        if document.document() != process.current:
            process.publish(document.document(), by=actor.person_id)
            self._save(process)
        return process.current_version, process.current

    # --- the SME directory (R10) ---

    def directory(self) -> dict[str, list[str]]:
        try:
            return dict(self.repository.get(domain.DIRECTORY_ID).aspects)
        except AggregateNotFoundError:
            return {}

    def set_aspect(self, aspect: str, smes: list[str], actor: Actor) -> list[str]:
        self._require_admin(actor)
        if len(set(smes)) != len(smes):
            raise Invalid("an SME is listed twice", errors=[{"field": "smes", "message": "duplicates"}])
        self.require_people("smes", *smes)
        try:
            directory = self.repository.get(domain.DIRECTORY_ID)
            directory.set_aspect(aspect=aspect, smes=smes, by=actor.person_id)
        except AggregateNotFoundError:
            directory = Directory(id=domain.DIRECTORY_ID, aspect=aspect, smes=smes, by=actor.person_id)
        self._save(directory)
        return smes

    # --- incidents ---

    def declare(self, title: str, description: str, aspect: str, severity: int, manager: str | None,
                actor: Actor) -> Incident:
        version, document = self.process()
        levels = {level["level"] for level in document["levels"]}
        if severity not in levels:
            raise Invalid(f"severity {severity} is not a level of the process", rule="R09",
                          errors=[{"field": "severity", "message": f"one of {sorted(levels)}"}])
        smes = self.directory().get(aspect, [])
        coverage_gap = not smes
        if coverage_gap:
            if not document.get("catch_all_sme"):
                raise Conflict(f"nobody to page: aspect {aspect!r} has no SME and no catch_all_sme is set",
                               rule="R10")
            smes = [document["catch_all_sme"]]
        if manager is not None:
            self.require_people("manager", manager)
        paged = manager or smes[0]
        incident = Incident(title=title, description=description, aspect=aspect, severity=severity,
                            manager=paged, smes=smes, declared_by=actor.person_id, process_version=version,
                            paged=paged, coverage_gap=coverage_gap, at=self.clock.now())
        self._save(incident)
        return incident

    def incident(self, incident_id: str, as_of: datetime | None = None) -> Incident:
        if as_of is None:
            return self._get(Incident, incident_id, "incident")
        version = self._version_at(incident_id, as_of)
        if version is None:
            raise NotFound(f"incident {incident_id} did not exist at {as_of.isoformat()}")
        return self._get(Incident, incident_id, "incident", version=version)

    def _version_at(self, incident_id: str, as_of: datetime) -> int | None:
        version = None
        for stored in self.events.get(UUID(incident_id)) if self._is_uuid(incident_id) else ():
            if stored.timestamp > as_of:
                break
            version = stored.originator_version
        return version

    @staticmethod
    def _is_uuid(value: str) -> bool:
        try:
            UUID(value)
        except ValueError:
            return False
        return True

    def command(self, incident_id: str, expected_version: int | None,
                change: Callable[[Incident], None]) -> Incident:
        """Load, apply one change (which checks the rules), save; If-Match mismatch is 412."""
        incident = self._get(Incident, incident_id, "incident")
        if expected_version is not None and incident.version != expected_version:
            raise Stale(f"the incident is at version {incident.version}, not {expected_version}")
        change(incident)
        self._save(incident)
        return incident

    def levels_of(self, incident: Incident) -> set[int]:
        _, document = self.process(incident.process_version)
        return {level["level"] for level in document["levels"]}


class Stale(Conflict):
    """If-Match named another version (412)."""
    status = 412
