"""Editing people, deactivating and activating them: use cases on the incident application's store.

A person edits their own contact details and hours; an admin edits anything, and deactivates someone who
left — their tokens revoked (console sessions too), taken out of the SME directory and their groups,
their history kept — or activates them again (their old tokens stay revoked). Each change is one
commit of events every service projects (shared/projection.py).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.incident import organisation as org
from services.incident import tenure
from services.incident.domain import Incident
from services.incident.errors import Conflict, Forbidden, NotFound
from services.incident.organisation_app import Organisation, People
from services.incident.policy import Actor, allowed
from services.incident.tokens import require_admin_for
from shared.process.document import merge_patch

# Validates a person as registration does (the API's schema) and returns it JSON-ready, or raises.
Validate = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Deactivation:
    """What a deactivation did, for its answer: the tokens revoked, the groups and aspects left, and the
    aspects it left without an SME (R10)."""

    person: org.Person
    revoked_tokens: list[str] = field(default_factory=list)
    left_groups: list[str] = field(default_factory=list)
    left_aspects: list[str] = field(default_factory=list)
    coverage_warnings: list[str] = field(default_factory=list)


class PeopleAdmin:
    def __init__(self, store: Any, people: People, organisation: Organisation):
        self.store, self.people, self.organisation = store, people, organisation  # store: the IncidentApplication

    def update(self, person_id: str, patch: dict[str, Any], actor: Actor, validate: Validate) -> org.Person:
        """A JSON merge patch (RFC 7386) onto the person, validated whole as registration is. The person
        may change their own contact details, hours, timezone and webhook; only an admin anything else."""
        if not allowed("edit_own_person", actor, person=person_id):
            raise Forbidden(
                "only an admin, or the person themselves, may edit a person",
                rule="permissions: configure process, directory, people, tokens",
            )

        def attempt() -> org.Person:
            person = self.people.person(person_id)
            # Merged and compared in plaintext, stored sealed (S11).
            current = {**person.fields(), "apprise_urls": self.people.opened_urls(person.apprise_urls)}
            merged = validate(_as_object(merge_patch(current, patch)))
            changed = sorted(name for name in org.FIELDS if merged[name] != current[name])
            if not allowed("edit_person", actor) and (
                theirs := [name for name in changed if name not in org.OWN_FIELDS]
            ):
                raise Forbidden(
                    f"you may change your own {', '.join(sorted(org.OWN_FIELDS))}; "
                    f"only an admin may change {' or '.join(theirs)}",
                    rule="permissions: configure process, directory, people, tokens",
                )
            if person.id == org.ADMIN_ID and not merged["admin"]:
                raise Conflict("the built-in admin (WARROOM_ADMIN_TOKEN) stays an admin")
            if changed:
                stored = {
                    **merged,
                    "apprise_urls": self.people.sealed_urls(merged["apprise_urls"], person.apprise_urls),
                }
                person.update(**{name: stored[name] for name in org.FIELDS}, by=actor.person_id)
                self.people._record(person)  # also drops this replica's copy of their hours
            return person

        return self.people.person_turn(person_id, attempt)

    def deactivate(self, person_id: str, actor: Actor) -> Deactivation:
        """Admin: refused (409) while the person manages an open incident or is the catch-all SME (R10)."""
        require_admin_for(actor, "deactivate people", "deactivate_person")
        if person_id == str(org.ADMIN_ID):
            raise Conflict("the built-in admin cannot be deactivated: it is how Warroom is configured")

        def attempt() -> Deactivation:
            person = self.people.person(person_id)
            if not person.active:
                return Deactivation(person)  # done already: nothing more to do
            self._may_leave(person)
            directory = self.store.find(org.DIRECTORY_ID)
            aspects = {} if directory is None else dict(directory.aspects)
            left_aspects = sorted(aspect for aspect, smes in aspects.items() if person_id in smes)
            for aspect in left_aspects:
                directory.set_aspect(
                    aspect=aspect, smes=[p for p in aspects[aspect] if p != person_id], by=actor.person_id
                )
            tokens = self.people.revocations(person_id)
            done = Deactivation(person, [str(t.id) for t in tokens], list(person.groups), left_aspects)
            person.deactivate(
                by=actor.person_id,
                left_groups=done.left_groups,
                left_aspects=left_aspects,
                revoked_tokens=done.revoked_tokens,
            )
            self.people._record(person, *tokens, *([directory] if left_aspects else []))
            self.people._forget(*tokens)
            done.coverage_warnings = self._uncovered(left_aspects)
            return done

        return self.people.person_turn(person_id, attempt)

    def activate(self, person_id: str, actor: Actor) -> org.Person:
        """Admin: the deactivation undone. Tokens revoked then stay revoked; groups and aspects are not
        given back (an admin adds them again)."""
        require_admin_for(actor, "activate people", "activate_person")

        def attempt() -> org.Person:
            person = self.people.person(person_id)
            if not person.active:
                person.activate(by=actor.person_id)
                self.people._record(person)
            return person

        return self.people.person_turn(person_id, attempt)

    def _may_leave(self, person: org.Person) -> None:
        """Refuse while the person manages an open incident (hand it over first, R04) or is the process's
        catch-all SME (R10: declarations for an aspect without SMEs page them)."""
        person_id = str(person.id)
        record = self.store.find(tenure.tenure_id(person_id))
        if isinstance(record, tenure.ManagerTenure) and record.managing:
            managing = ", ".join(self._titled(incident_id) for incident_id in record.managing)
            raise Conflict(f"{person.name} manages the open incident {managing}: hand it over, then deactivate them")
        _, document = self.organisation.process()
        if document.get("catch_all_sme") == person_id:
            raise Conflict(
                f"{person.name} is the process's catch_all_sme, paged for aspects without SMEs: name another "
                "catch-all (PUT /v1/process) first, then deactivate them",
                rule="R10",
            )

    def _titled(self, incident_id: str) -> str:
        try:
            return f"{self.store.load(Incident, incident_id, 'incident').title!r} ({incident_id})"
        except NotFound:
            return incident_id

    def _uncovered(self, aspects: list[str]) -> list[str]:
        """R10: the aspects the deactivation left without an SME, in words."""
        _, document = self.organisation.process()
        catch_all = document.get("catch_all_sme")
        then = (
            f"declarations for it page the catch-all SME ({self._name(catch_all)})"
            if catch_all
            else "declarations for it will be refused: no catch_all_sme is set"
        )
        directory = self.organisation.directory()
        return [f"aspect {a!r} has no SME left: {then} (R10)" for a in aspects if not directory.get(a)]

    def _name(self, person_id: str) -> str:
        try:
            return self.people.person(person_id).name
        except NotFound:
            return person_id


def _as_object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
