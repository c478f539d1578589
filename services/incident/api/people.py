"""HTTP: people and their tokens (admins only, S1)."""

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from services.incident.deps import App, Caller, Reply
from services.incident.schemas import PersonIn, PersonOut, TokenIn
from shared.text import Id

router = APIRouter(prefix="/v1")

WITHHELD = (
    "the token was issued by the first request with this Idempotency-Key; its secret is shown only "
    "in that answer and is stored nowhere: if it was lost, revoke this token (DELETE /v1/tokens/{id}) "
    "and issue a new one"
)


def _person_out(person) -> PersonOut:
    return PersonOut(
        id=str(person.id),
        name=person.name,
        email=person.email,
        timezone=person.timezone,
        phone=person.phone,
        groups=person.groups,
        working_hours=person.working_hours,
        waking_hours=person.waking_hours,
        webhook_url=person.webhook_url,
        admin=person.admin,
    )


@router.post("/people", status_code=status.HTTP_201_CREATED, response_model=PersonOut, tags=["people"])
def register_person(body: PersonIn, app: App, actor: Caller, response: Response):
    reply = Reply.to(201)  # keyed (F10): the answer is recorded in the events' commit
    person = app.people.register_person(
        body.model_dump(mode="json"),
        actor,
        answer=reply and (lambda person: reply(_person_out(person), {"Location": f"/v1/people/{person.id}"})),
    )
    if reply:
        return reply.response
    response.headers["Location"] = f"/v1/people/{person.id}"
    return _person_out(person)


@router.get("/people/{person_id}", response_model=PersonOut, tags=["people"])
def get_person(person_id: Id, app: App, actor: Caller):
    return _person_out(app.people.person(person_id))


class IssuedToken(BaseModel):
    id: str
    token: str | None = Field(
        description="the secret: shown in this answer only, stored hashed; null in the "
        "replayed answer to a retry with the same Idempotency-Key (S11)"
    )
    detail: str | None = Field(default=None, description="why `token` is null, in a replayed answer")


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=IssuedToken, tags=["tokens"])
def issue_token(body: TokenIn, app: App, actor: Caller):
    """Issue a token to a person; the secret is in this answer only (S1). A retry with the same
    Idempotency-Key is answered 201 with the same token id, `token: null` and a `detail` saying so: the
    secret is never kept, not even for replaying (S11), and issuing another would leave an unknown live
    token — revoke the id and issue a new one if the first answer was lost."""
    reply = Reply.to(201)
    token_id, secret = app.people.issue_token(
        body.person_id,
        actor,
        answer=reply
        and (lambda token_id: reply(IssuedToken(id=token_id, token=None, detail=WITHHELD.format(id=token_id)))),
    )
    # The answer recorded for retries withholds the secret; this one, the first, shows it.
    return IssuedToken(id=token_id, token=secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["tokens"])
def revoke_token(token_id: Id, app: App, actor: Caller):
    app.people.revoke_token(token_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
