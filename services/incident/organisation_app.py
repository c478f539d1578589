"""The organisation's use cases, on the incident application's store (application.py): ``People`` —
authentication and its cache, people, tokens (tokens.py), the built-in admin; ``Organisation`` — process
versions, the SME directory, minor reports. Editing and deactivating people: people_admin.py."""

import difflib
import time
from collections.abc import Callable, Iterable
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from services.incident import organisation as org
from services.incident.errors import Conflict, Forbidden, Invalid, NotFound
from services.incident.policy import Actor, allowed
from services.incident.tokens import TokenKeeping
from shared import sealing
from shared.idempotency import Answer
from shared.process import hours, secrets
from shared.process.document import ProcessDocument, default_process
from shared.process.rules import Rules
from shared.projection import token_hash

AUTH_CACHE_SECONDS = 2.0
# The authentication cache is swept of expired entries once it holds this many (then twice what is left):
# every token ever used would otherwise stay in it, each long after its two seconds.
AUTH_CACHE_SWEEP_AT = 1024
# How long a person's hours are kept once read: an edit on another replica reaches this one within it.
HOURS_CACHE_SECONDS = 5.0


def require_admin(actor: Actor) -> None:
    if not allowed("configure", actor):
        raise Forbidden(
            "only an admin may configure the process, directory, people and tokens",
            rule="permissions: configure process, directory, people, tokens",
        )


class People(TokenKeeping):
    """Who may call, and the people the process names."""

    def __init__(self, store):
        self.store = store  # the IncidentApplication: the one event store
        self._hours: dict[str, tuple[dict | None, float]] = {}  # person id -> (hours, kept until) (hours_of)
        # token hash -> (actor, valid until): spares two reads per request. Another replica's
        # revocation takes effect here within AUTH_CACHE_SECONDS; this replica's at once.
        self._actors: dict[str, tuple[Actor, float]] = {}
        self._sweep_at = AUTH_CACHE_SWEEP_AT

    def _record(self, *aggregates, answer: Answer | None = None) -> None:
        self.store.record(*aggregates, answer=answer)
        for aggregate in aggregates:
            if isinstance(aggregate, org.Person):
                self._hours.pop(str(aggregate.id), None)

    def person(self, person_id: str) -> org.Person:
        return self.store.load(org.Person, person_id, "person")

    def hours_of(self, person_id: str) -> dict | None:
        """What the time rules read of a person (R11): their timezone, working and waking hours; None
        for nobody registered (paged at once, as no hours are known). Kept once read: every answer about
        an incident whose page waits shows its deadline, and a person's hours change only when saved
        here (registering, editing): this replica drops the entry then, others within HOURS_CACHE_SECONDS."""
        kept = self._hours.get(person_id)
        if kept is None or kept[1] < time.monotonic():
            try:
                kept = self._hours[person_id] = (
                    hours.hours_of(self.person(person_id).hours()),
                    time.monotonic() + HOURS_CACHE_SECONDS,
                )
            except NotFound:
                return None
        return kept[0]

    def require_people(self, field: str, *people: str, allow_inactive: bool = False) -> None:
        """Each of ``people`` is registered and, unless ``allow_inactive``, active: a deactivated person
        is named in no new command (409)."""
        for person_id in people:
            try:
                person = self.person(person_id)
            except NotFound:
                raise Invalid(
                    f"{field}: no registered person {person_id}",
                    errors=[{"field": field, "message": f"unknown person {person_id}"}],
                ) from None
            if not (person.active or allow_inactive):
                raise Conflict(
                    f"{field}: {person.name} ({person_id}) is deactivated and cannot be named in new commands; "
                    "an admin may activate them again",
                    errors=[{"field": field, "message": f"{person.name} is deactivated"}],
                )

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
        if self.store.find(org.ADMIN_ID) is None:
            self._record(
                org.Person(
                    id=org.ADMIN_ID,
                    name="Admin",
                    email="admin@warroom.invalid",
                    timezone="UTC",
                    phone=None,
                    groups=[],
                    working_hours={"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]},
                    waking_hours=None,
                    webhook_url=None,
                    admin=True,
                )
            )
        token_id = org.token_id_for(token_hash(admin_token))
        changed = self._admin_token(admin_token) + self._admin_credential(token_id)
        if changed:
            self._record(*changed)
        if self.store.find(org.PROCESS_ID) is None:
            self._record(
                org.Process(
                    id=org.PROCESS_ID,
                    version=1,
                    document=default_process(),
                    by=str(org.ADMIN_ID),
                    cites_postmortem=None,
                )
            )

    def _admin_token(self, admin_token: str) -> list:
        digest = token_hash(admin_token)
        token = self.store.find(org.token_id_for(digest))
        if token is None:
            keyring = self.keyring(str(org.ADMIN_ID))
            keyring.add(token_id=str(org.token_id_for(digest)), parent=None)
            return [org.Token(id=org.token_id_for(digest), person_id=str(org.ADMIN_ID), token_hash=digest), keyring]
        if token.revoked:
            token.reinstate()
            return [token]
        return []

    def _admin_credential(self, token_id: UUID) -> list:
        credential = self.store.find(org.ADMIN_CREDENTIAL_ID)
        if credential is None:
            return [org.AdminCredential(id=org.ADMIN_CREDENTIAL_ID, token_id=str(token_id))]
        if credential.token_id == str(token_id):
            return []
        old = self.store.repository.get(UUID(credential.token_id))
        old.revoke()
        self._actors.pop(old.token_hash, None)
        credential.rotate(token_id=str(token_id))
        return [old, credential]

    # --- authentication and tokens ---

    def recently_authenticated(self, token: str) -> Actor | None:
        """The caller from the cache alone (no I/O, so the event loop may ask); None when not cached."""
        cached = self._actors.get(token_hash(token))
        return cached[0] if cached and cached[1] > time.monotonic() else None

    def authenticate(self, token: str) -> Actor | None:
        """``actor_for`` (tokens.py), kept AUTH_CACHE_SECONDS — never beyond the token's expiry."""
        if cached := self.recently_authenticated(token):
            return cached
        found = self.actor_for(token)
        if found is None:
            return None
        actor, stored = found
        lasting = AUTH_CACHE_SECONDS
        if stored.expires_at is not None:
            lasting = min(lasting, (stored.expires_at - self.store.clock.now()).total_seconds())
        self._actors[stored.token_hash] = (actor, time.monotonic() + lasting)
        if len(self._actors) >= self._sweep_at:
            self._sweep()
        return actor

    def _sweep(self) -> None:
        """Expired entries out of the authentication cache, in place: a revocation's ``pop`` on another thread
        meanwhile is never undone (a copy swapped in could bring its entry back)."""
        now = time.monotonic()
        for key, (_, until) in list(self._actors.items()):
            if until <= now:
                self._actors.pop(key, None)
        self._sweep_at = max(AUTH_CACHE_SWEEP_AT, 2 * len(self._actors))

    def sealed_urls(self, urls: dict | None, stored: dict | None = None) -> dict | None:
        """A person's Apprise URLs as stored: sealed (S11), keeping the sealed value ``stored`` holds for a
        URL left as it was. Raises shared.sealing.SecretsUnavailable without a key."""
        if not urls:
            return urls
        sealer = self.store.sealer
        kept = {sealer.open(value): value for value in (stored or {}).values() if sealing.is_sealed(value)}
        return {channel: kept.get(url) or sealer.seal(url) for channel, url in urls.items()}

    def opened_urls(self, urls: dict | None) -> dict | None:
        """A person's Apprise URLs in plaintext, for an admin or the person (legacy plaintext as it is)."""
        return urls and {channel: self.store.sealer.open(url) for channel, url in urls.items()}

    def register_person(
        self, fields: dict, actor: Actor, answer: Callable[[org.Person], Answer] | None = None
    ) -> org.Person:
        require_admin(actor)
        person = org.Person(id=uuid4(), **{**fields, "apprise_urls": self.sealed_urls(fields.get("apprise_urls"))})
        self._record(person, answer=answer and answer(person))
        return person


class Organisation:
    """The process (R09, R11, R17), the SME directory (R10) and minor reports (R12)."""

    def __init__(self, store, people: People):
        self.store, self.people = store, people
        self._versions: dict[int, dict] = {}
        # id(document) -> (document, its rules): a version's rules are parsed once (versions never change).
        self._rules: dict[int, tuple[dict, Rules]] = {}

    def process(self, version: int | None = None) -> tuple[int, dict]:
        if version in self._versions:  # published versions never change
            return version, self._versions[version]
        process = self.store.load(org.Process, org.PROCESS_ID, "process")
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

    def put_process(
        self, document: ProcessDocument, actor: Actor, cites_postmortem: str | None = None, authorized: bool = False
    ) -> tuple[int, dict]:
        if not authorized:
            require_admin(actor)
        if document.catch_all_sme:
            self.people.require_people("catch_all_sme", document.catch_all_sme)
        process = self.store.load(org.Process, org.PROCESS_ID, "process")
        current = self.opened(process.current)
        # A secret read back masked (GET to someone not an admin) keeps the value it stands for.
        proposed = secrets.unmasked(document.document(), current)
        if proposed != current:
            process.publish(
                self.sealed(proposed, process.current), by=actor.person_id, cites_postmortem=cites_postmortem
            )
            self.store.record_or_conflict(process)
        return process.current_version, process.current

    def opened(self, document: dict) -> dict:
        """A process version with its secrets in plaintext (S11: for admins, and to compare and merge)."""
        return secrets.passed(document, self.store.sealer.open)

    def sealed(self, document: dict, stored: dict) -> dict:
        """A process version in plaintext as it is stored: its secrets sealed, those of ``stored`` (the
        current version) kept where unchanged. Raises shared.sealing.SecretsUnavailable without a key."""
        sealer = self.store.sealer
        return secrets.resealed(document, stored, sealer.open, sealer.seal)

    # --- the SME directory (R10) ---

    def directory(self) -> dict[str, list[str]]:
        found = self.store.find(org.DIRECTORY_ID)
        return {} if found is None else dict(found.aspects)

    def declaration_coverage(self, aspect: str, gap: bool, paged: str) -> dict:
        """R10, for the declaration's answer: an unknown aspect (a typo at 04:00) still pages the catch-all,
        and the declarer learns the aspect was not found and which known aspects are nearest."""
        known = set(self.directory())
        return {
            "gap": gap,
            "aspect_known": aspect in known,
            "paged": paged,
            "did_you_mean": [] if aspect in known else nearest_aspects(aspect, known),
        }

    def coverage(self, declared_aspects: set[str]) -> dict:
        """R10's coverage report: the directory's aspects without an SME, the aspects incidents were declared
        for that have none (unknown ones too: their incidents paged the catch-all), and the catch-all."""
        directory = self.directory()
        _, document = self.process()
        catch_all = document.get("catch_all_sme") or None
        warnings = (
            [] if catch_all else ["catch_all_sme is empty: declaring for an aspect without SMEs will be refused (R10)"]
        )
        return {
            "uncovered": sorted(name for name, smes in directory.items() if not smes),
            "declared_without_sme": sorted(a for a in declared_aspects if not directory.get(a)),
            "catch_all_sme": catch_all,
            "warnings": warnings,
        }

    def set_aspect(self, aspect: str, smes: list[str], actor: Actor) -> list[str]:
        require_admin(actor)
        if len(set(smes)) != len(smes):
            raise Invalid("an SME is listed twice", errors=[{"field": "smes", "message": "duplicates"}])
        self.people.require_people("smes", *smes)
        directory = self.store.find(org.DIRECTORY_ID)
        if directory is None:
            directory = org.Directory(id=org.DIRECTORY_ID, aspect=aspect, smes=smes, by=actor.person_id)
        else:
            directory.set_aspect(aspect=aspect, smes=smes, by=actor.person_id)
        self.store.record_or_conflict(directory)
        return smes

    # --- minor reports (R12) ---

    def file_report(
        self,
        title: str,
        description: str,
        aspect: str,
        actor: Actor,
        answer: Callable[[org.MinorReport], Answer] | None = None,
    ) -> org.MinorReport:
        report = org.MinorReport(title=title, description=description, aspect=aspect, by=actor.person_id)
        self.store.record(report, answer=answer and answer(report))
        return report


def nearest_aspects(aspect: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known aspects closest to ``aspect`` as spelled, best first (case aside)."""
    by_folded: dict[str, str] = {}  # casefolded -> as spelled
    for name in sorted(known):
        by_folded.setdefault(name.casefold(), name)
    return [by_folded[m] for m in difflib.get_close_matches(aspect.casefold(), list(by_folded), n=n, cutoff=0.6)]
