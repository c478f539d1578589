"""HTTP: people — registered (admin), listed and read (anyone signed in), edited (admin, or the person for
their own contact details and hours), deactivated and activated (admin)."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.incident import organisation as org
from services.incident import people_list
from services.incident.api.threaded import in_thread
from services.incident.deps import App, Caller, Reply
from services.incident.people_admin import Deactivation
from services.incident.people_schemas import (
    PRIVATE_FIELDS,
    Deactivated,
    PeoplePage,
    PersonPatch,
    PersonView,
    checked_person,
)
from services.incident.policy import Actor
from services.incident.schemas import PersonIn
from shared.openapi import problems, with_headers
from shared.problems import Problem
from shared.process.secrets import MASK
from shared.text import Id, Line, Name

router = APIRouter(prefix="/v1", tags=["people"])

PersonId = Annotated[Id, Path(description="The person's id")]
_ADMINS = "Admins only"
_NOBODY = "Nobody registered by this id"

# PATCH takes a JSON merge patch under its own media type as well as plain JSON (both parse as JSON).
MERGE_PATCH = {
    "requestBody": {
        "content": {"application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/PersonPatch"}}}
    }
}


def person_view(person: dict[str, Any], viewer: Actor, open_: Callable[[str], str]) -> PersonView:
    """``person`` (with ``id`` and ``active``, as stored) as ``viewer`` may see them: PRIVATE_FIELDS withheld,
    or else their Apprise URLs passed through ``open_`` (the sealer's, S11; MASK for an answer recorded)."""
    if not (viewer.admin or viewer.person_id == person["id"]):
        return PersonView.model_validate({**person, **dict.fromkeys(PRIVATE_FIELDS)})
    urls = person.get("apprise_urls")
    return PersonView.model_validate({**person, "apprise_urls": urls and {k: open_(v) for k, v in urls.items()}})


def _at(person: org.Person) -> str:
    return f"/v1/people/{person.id}"


def _masked(_: str) -> str:
    return MASK


def _as_dict(person: org.Person) -> dict[str, Any]:
    return {**person.fields(), "id": str(person.id), "active": person.active}


@router.post(
    "/people",
    status_code=status.HTTP_201_CREATED,
    response_model=PersonView,
    summary="Register a person",
    responses=problems(403, said={403: _ADMINS}) | with_headers(201, "Location"),
)
@in_thread
def register_person(body: PersonIn, app: App, actor: Caller, response: Response):
    """Admin: register a person, active from the start. They sign in with a token an admin issues them
    (`POST /v1/tokens`), or by a link sent to their email from the console. A retry with the same
    Idempotency-Key is answered with `apprise_urls` as `***`: no secret is kept in plaintext, not even for
    replaying (S11). Without `WARROOM_SECRETS_KEYS` on the service, a person with Apprise URLs is refused
    (503) and nothing is stored."""
    reply = Reply.to(201)  # keyed (F10): the answer is recorded in the events' commit
    person = app.people.register_person(
        body.model_dump(mode="json"),
        actor,
        # Recorded for retries with the Apprise URLs as ***: no secret at rest in plaintext (S11).
        answer=reply
        and (lambda person: reply(person_view(_as_dict(person), actor, _masked), {"Location": _at(person)})),
    )
    response.headers["Location"] = _at(person)
    return person_view(_as_dict(person), actor, app.sealer.open)


@router.get("/people", response_model=PeoplePage, summary="List people")
async def list_people(
    request: Request,
    actor: Caller,
    q: Annotated[Annotated[str, Line(200)] | None, Query(description="part of the name or email, any case")] = None,
    group: Annotated[Name | None, Query(description="members of this group only")] = None,
    active: Annotated[bool, Query(description="false: the deactivated people instead")] = True,
    cursor: Annotated[str | None, Query(max_length=1000, description="A previous page's `next`")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many people")] = 100,
):
    """Anyone signed in: people in name order. Eventually consistent (a projection of the service's own
    stream): a change shows here within moments; `GET /v1/people/{id}` is always current."""
    query = people_list.Query(q=q or None, group=group, active=active, after=cursor or None, limit=limit)
    try:
        people, following = await people_list.page(request.app.state.pool, query)
    except people_list.BadCursor as exc:
        raise Problem(
            422, str(exc), errors=[{"field": "cursor", "message": "not a cursor this service gave"}]
        ) from None
    opened = request.app.state.application.sealer.open
    return PeoplePage(people=[person_view(person, actor, opened) for person in people], next=following)


@router.get(
    "/people/{person_id}",
    response_model=PersonView,
    summary="Read a person",
    responses=problems(404, said={404: _NOBODY}),
)
@in_thread
def get_person(person_id: PersonId, app: App, actor: Caller):
    """Anyone signed in; `phone`, `webhook_url`, `admin` and `apprise_urls` are null unless you are an admin or
    the person."""
    return person_view(_as_dict(app.people.person(person_id)), actor, app.sealer.open)


@router.patch(
    "/people/{person_id}",
    response_model=PersonView,
    openapi_extra=MERGE_PATCH,
    summary="Edit a person",
    responses=problems(
        403,
        404,
        409,
        said={
            403: "Not an admin, nor the person; or a field only an admin changes",
            404: _NOBODY,
            409: "The built-in admin stays an admin; or another change to them came first",
        },
    ),
)
@in_thread
def update_person(person_id: PersonId, body: PersonPatch, app: App, actor: Caller):
    """A JSON merge patch (`application/merge-patch+json` or `application/json`), checked whole as a
    registration is; an invalid one changes nothing. An admin may change anything; the person their own
    email, phone, timezone, working and waking hours, webhook_url and apprise_urls — never their name, groups
    or admin."""
    patch = body.model_dump(mode="json", exclude_unset=True)

    def validate(merged: dict[str, Any]) -> dict[str, Any]:
        try:
            return checked_person(merged)
        except ValidationError as exc:
            errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            raise RequestValidationError(errors, body=patch) from None

    person = app.people_admin.update(person_id, patch, actor, validate)
    return person_view(_as_dict(person), actor, app.sealer.open)


@router.post(
    "/people/{person_id}/deactivate",
    response_model=Deactivated,
    summary="Deactivate a person",
    responses=problems(
        403,
        404,
        409,
        said={
            403: _ADMINS,
            404: _NOBODY,
            409: "They manage an open incident, or are the catch-all SME or the built-in admin",
        },
    ),
)
@in_thread
def deactivate_person(person_id: PersonId, app: App, actor: Caller):
    """Admin: their tokens revoked (console sessions end at once), taken out of the SME directory and their
    groups, with a warning for each aspect left without an SME (R10); their history stays. Refused (409)
    while they manage an open incident, and for the process's catch-all SME (R10). Deactivating someone
    deactivated already changes nothing. The answer shows `apprise_urls` as `***` (it may be replayed to a
    retry with an Idempotency-Key, and no secret is kept in plaintext, S11): read them with GET."""
    done: Deactivation = app.people_admin.deactivate(person_id, actor)
    return Deactivated.model_validate(
        {
            **person_view(_as_dict(done.person), actor, _masked).model_dump(),
            "revoked_tokens": done.revoked_tokens,
            "left_groups": done.left_groups,
            "left_aspects": done.left_aspects,
            "coverage_warnings": done.coverage_warnings,
        }
    )


@router.post(
    "/people/{person_id}/activate",
    response_model=PersonView,
    summary="Activate a person",
    responses=problems(403, 404, said={403: _ADMINS, 404: _NOBODY}),
)
@in_thread
def activate_person(person_id: PersonId, app: App, actor: Caller):
    """Admin: a deactivation undone. The tokens revoked then stay revoked (issue new ones); groups and
    aspects are not given back. The answer shows `apprise_urls` as `***`, as deactivating does."""
    return person_view(_as_dict(app.people_admin.activate(person_id, actor)), actor, _masked)
