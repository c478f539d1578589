"""API tokens and console sessions: issuing, listing, expiry, revocation, and the person each stands for.

Mixed into ``People`` (organisation_app.py), so every use of a token is ``app.people.…``. A token is an
aggregate found by its hash (S11: the secret is never kept). Each token is also put on its person's
``Keyring`` in the same commit, so a person's tokens are listed, and revoked together on deactivation,
exactly — never from a projection that may lag. A console session is a token of its own, opened with
(``parent``) the token its person signed in with: revoking a token revokes the sessions opened with it.
"""

import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.incident import organisation as org
from services.incident import turns
from services.incident.errors import Conflict, Forbidden, Invalid
from services.incident.policy import Actor, allowed
from shared.idempotency import Answer
from shared.projection import token_hash

T = TypeVar("T")
# A command on a person's keyring losing this many races to other replicas in a row is answered 409.
ATTEMPTS = 5
# How a stored token's issuing is named in the store (eventsourcing's topic of Token.Issued).
ISSUED_TOPIC = f"{org.__name__}:Token.Issued"
ADMIN_TOKEN_IS_A_SETTING = "the built-in admin's token is WARROOM_ADMIN_TOKEN: change the setting to rotate it"


class TokenKeeping:
    """The token use cases of ``People``; it provides what is declared here."""

    store: Any  # the IncidentApplication: the one event store
    _actors: dict[str, tuple[Actor, float]]
    require_people: Callable[..., None]
    person: Callable[[str], org.Person]
    _record: Callable[..., None]

    # --- who a token stands for ---

    def actor_for(self, secret: str) -> tuple[Actor, org.Token] | None:
        """The person a token stands for, read from the store (no cache): None when the token is unknown,
        revoked or expired, or its person deactivated."""
        try:
            token = self.store.repository.get(org.token_id_for(token_hash(secret)))
            if not isinstance(token, org.Token) or not token.valid_at(self.store.clock.now()):
                return None
            person = self.store.repository.get(UUID(token.person_id))
        except AggregateNotFoundError:
            return None
        if not isinstance(person, org.Person) or not person.active:
            return None
        return Actor(person_id=str(person.id), admin=person.admin), token

    def session_actor(self, secret: str) -> Actor | None:
        """The console's check on every request: the store, never the cache, so a revocation or a
        deactivation on any replica ends the session at once."""
        found = self.actor_for(secret)
        return None if found is None else found[0]

    # --- issuing ---

    def issue_token(
        self,
        person_id: str,
        actor: Actor,
        answer: Callable[[str], Answer] | None = None,
        label: str | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[str, str]:
        """Admin: a token for ``person_id``: (id, secret). ``answer`` is given the token's id only: the
        secret is shown once and never recorded (S11)."""
        require_admin_for(actor, "issue tokens")
        if expires_at is not None:
            self._future("expires_at", expires_at)
        return self._mint(person_id, label, expires_at, None, answer)

    def open_session(self, parent_token: str | None, person_id: str, ttl_seconds: int, label: str) -> tuple[str, str]:
        """A console session: a new token for ``person_id`` expiring after ``ttl_seconds`` (never after the
        token it was opened with), its ``parent`` that token (None for an e-mail sign-in link). No admin
        needed: the person has just proved who they are."""
        if ttl_seconds <= 0:
            raise Invalid("a session lasts a positive number of seconds")
        expires_at = self.store.clock.now() + timedelta(seconds=ttl_seconds)
        parent = None
        if parent_token is not None:
            found = self.actor_for(parent_token)
            if found is None or found[0].person_id != person_id:
                raise Forbidden("a session is opened with a valid token of the person who signs in")
            parent = found[1]
            if parent.expires_at is not None:
                expires_at = min(expires_at, parent.expires_at)
        return self._mint(person_id, label, expires_at, None if parent is None else str(parent.id), None)

    def close_session(self, secret: str) -> None:
        """Sign out: the session's token (and any session opened with it) revoked; an unknown one is ignored."""
        token = self.store.find(org.token_id_for(token_hash(secret)))
        if isinstance(token, org.Token) and not self._is_admin_credential(token):
            self._revoke_with_sessions(token)

    def _mint(
        self,
        person_id: str,
        label: str | None,
        expires_at: datetime | None,
        parent: str | None,
        answer: Callable[[str], Answer] | None,
    ) -> tuple[str, str]:
        self.require_people("person_id", person_id)  # registered and active
        secret = secrets.token_urlsafe(32)
        digest = token_hash(secret)
        token_id = org.token_id_for(digest)

        def attempt() -> None:
            token = org.Token(
                id=token_id, person_id=person_id, token_hash=digest, label=label, expires_at=expires_at, parent=parent
            )
            keyring = self.keyring(person_id)
            keyring.add(token_id=str(token_id), parent=parent)
            self._record(token, keyring, answer=answer and answer(str(token_id)))

        self.person_turn(person_id, attempt)
        return str(token_id), secret

    # --- a person's tokens ---

    def keyring(self, person_id: str) -> org.Keyring:
        keyring_id = org.keyring_id(person_id)
        found = self.store.find(keyring_id)
        return found if isinstance(found, org.Keyring) else org.Keyring(id=keyring_id, person_id=person_id)

    def tokens_of(self, person_id: str, actor: Actor, before: int | None, limit: int) -> tuple[list[org.Token], int]:
        """The admin or the person: their tokens, newest first, up to ``limit`` of those before position
        ``before`` on the keyring (None: from the newest); and the position the next page starts at."""
        if not allowed("manage_own_tokens", actor, person=person_id):
            raise Forbidden("only an admin or the person themselves may list a person's tokens")
        self.person(person_id)  # 404 for nobody registered
        held = self.keyring(person_id).tokens
        end = len(held) if before is None else max(0, min(before, len(held)))
        start = max(0, end - limit)
        return [self.store.load(org.Token, token_id, "token") for token_id in reversed(held[start:end])], start

    def token(self, token_id: str, actor: Actor) -> org.Token:
        """A token its person or an admin may change; anyone else is refused."""
        token = self.store.load(org.Token, token_id, "token")
        if not allowed("manage_own_tokens", actor, person=token.person_id):
            raise Forbidden("only an admin or the token's own person may change or revoke a token")
        if self._is_admin_credential(token):
            raise Conflict(ADMIN_TOKEN_IS_A_SETTING)
        return token

    def _is_admin_credential(self, token: org.Token) -> bool:
        credential = self.store.find(org.ADMIN_CREDENTIAL_ID)
        return isinstance(credential, org.AdminCredential) and credential.token_id == str(token.id)

    def revoke_token(self, token_id: str, actor: Actor) -> None:
        """An admin, or the token's person (a lost token, revoked from their list): it and the sessions
        opened with it."""
        self._revoke_with_sessions(self.token(token_id, actor))

    def set_token_expiry(self, token_id: str, expires_at: datetime, actor: Actor) -> org.Token:
        """An admin sets any expiry in the future; the token's person may only bring theirs forward
        (a session cannot outlive what it was given). Sessions opened with it expire no later."""
        token = self.token(token_id, actor)
        self._future("expires_at", expires_at)
        if token.revoked:
            raise Conflict("the token is revoked: it cannot be used again, whatever its expiry")
        if not allowed("extend_token", actor) and token.expires_at is not None and expires_at > token.expires_at:
            raise Forbidden("you may bring your token's expiry forward; only an admin may extend it")
        changed = [token]
        token.set_expiry(expires_at=expires_at, by=actor.person_id)
        for session in self._sessions(token):
            if session.expires_at is None or session.expires_at > expires_at:
                session.set_expiry(expires_at=expires_at, by=actor.person_id)
                changed.append(session)
        self.store.record_or_conflict(*changed)
        self._forget(*changed)
        return token

    def index_tokens(self) -> int:
        """Once per store, at start-up: the tokens issued before keyrings existed put on their people's
        keyrings (how many). Replicas starting together race; the loser reads again and finds it done."""
        for tries in count(1):
            try:
                return self._index_tokens_once()
            except IntegrityError:
                if tries >= ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _index_tokens_once(self) -> int:
        if self.store.find(org.TOKEN_INDEX_ID) is not None:
            return 0
        issued: dict[str, list[str]] = {}  # person id -> their tokens' ids, oldest first
        start, recorder = 1, self.store.recorder
        while batch := recorder.select_notifications(start=start, limit=1000, topics=[ISSUED_TOPIC]):
            for notification in batch:
                event = self.store.mapper.to_domain_event(notification)
                issued.setdefault(event.person_id, []).append(str(event.originator_id))
            start = batch[-1].id + 1
        changed: list[Any] = []
        for person_id, token_ids in issued.items():
            keyring = self.keyring(person_id)
            missing = [token_id for token_id in token_ids if token_id not in keyring.tokens]
            for token_id in missing:
                keyring.add(token_id=token_id, parent=None)
            changed += [keyring] if missing else []
        total = sum(len(token_ids) for token_ids in issued.values())
        self._record(*changed, org.TokenIndex(id=org.TOKEN_INDEX_ID, tokens=total))
        return total

    def revocations(self, person_id: str) -> list[org.Token]:
        """Every token of the person not revoked yet, revoked (to be saved by the caller)."""
        revoked = []
        for token_id in self.keyring(person_id).tokens:
            token = self.store.load(org.Token, token_id, "token")
            if not token.revoked:
                token.revoke()
                revoked.append(token)
        return revoked

    def _sessions(self, token: org.Token) -> list[org.Token]:
        """The sessions opened with ``token``, and with those, and so on."""
        keyring, found, pending = self.keyring(token.person_id), [], [str(token.id)]
        while pending:
            for child in keyring.sessions_of(pending.pop()):
                found.append(self.store.load(org.Token, child, "token"))
                pending.append(child)
        return found

    def _revoke_with_sessions(self, token: org.Token) -> None:
        changed = []
        for each in [token, *self._sessions(token)]:
            if not each.revoked:
                each.revoke()
                changed.append(each)
        if changed:
            self.store.record_or_conflict(*changed)
        self._forget(token, *changed)

    def _forget(self, *tokens: org.Token) -> None:
        """Drop this replica's cached authentications of ``tokens`` (others' lapse within seconds)."""
        for token in tokens:
            self._actors.pop(token.token_hash, None)

    def _future(self, field: str, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise Invalid(f"{field} needs a timezone", errors=[{"field": field, "message": "needs a timezone"}])
        if moment <= self.store.clock.now():
            raise Invalid(
                f"{field} must be in the future", errors=[{"field": field, "message": "must be in the future"}]
            )

    def person_turn(self, person_id: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` holding this replica's turn on the person, again after another replica won a race."""
        for tries in count(1):
            held = self.store.turns.hold({turns.person_key(person_id)})
            try:
                return attempt()
            except IntegrityError:
                if tries >= ATTEMPTS:
                    raise Conflict("another change to this person came first; read again and retry") from None
            finally:
                held.release()
            time.sleep(0.005 * tries)
        raise AssertionError("unreachable")


def require_admin_for(actor: Actor, doing: str, action: str = "configure") -> None:
    """Refused unless the permission table lets ``actor`` do ``action`` (an admin's): "only an admin may {doing}"."""
    if not allowed(action, actor):
        raise Forbidden(f"only an admin may {doing}", rule="permissions: configure process, directory, people, tokens")
