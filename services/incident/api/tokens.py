"""HTTP: API tokens — issued by an admin (the secret shown once), listed, given an expiry and revoked by an
admin or the token's own person (a lost token is revoked from that list)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from services.incident import examples
from services.incident import organisation as org
from services.incident.api.threaded import in_thread
from services.incident.deps import App, Caller, Reply
from services.incident.people_schemas import TokenExpiryIn, TokenPage, TokenView
from services.incident.schemas import TokenIn, example
from shared.openapi import problems
from shared.problems import Problem
from shared.text import Id

router = APIRouter(prefix="/v1", tags=["tokens"])

TokenId = Annotated[Id, Path(description="The token's id")]
_NO_TOKEN = "No such token"
_THEIRS = "Not an admin, nor the token's own person"

WITHHELD = (
    "the token was issued by the first request with this Idempotency-Key; its secret is shown only "
    "in that answer and is stored nowhere: if it was lost, revoke this token (DELETE /v1/tokens/{id}) "
    "and issue a new one"
)


class IssuedToken(BaseModel):
    """A token just issued, with its secret: send it as `Authorization: Bearer <token>`."""

    model_config = example(
        {"id": examples.TOKEN, "token": "too26ouY-d5lH6B_YcHx72dhblxj_fbfjArCYtVh0vc", "detail": None}
    )
    id: str = Field(description="The token's id: to list, expire or revoke it")
    token: str | None = Field(
        description="the secret: shown in this answer only, stored hashed; null in the "
        "replayed answer to a retry with the same Idempotency-Key (S11)"
    )
    detail: str | None = Field(default=None, description="why `token` is null, in a replayed answer")


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedToken,
    summary="Issue a token",
    responses=problems(403, 409, said={403: "Admins only", 409: "The person is deactivated"}),
)
@in_thread
def issue_token(body: TokenIn, app: App, actor: Caller):
    """Admin: issue a token to a person, optionally labelled and expiring; the secret is in this answer only
    (S1). A retry with the same Idempotency-Key is answered 201 with the same token id, `token: null` and a
    `detail` saying so: the secret is never kept, not even for replaying (S11), and issuing another would
    leave an unknown live token — revoke the id and issue a new one if the first answer was lost."""
    reply = Reply.to(201)
    token_id, secret = app.people.issue_token(
        body.person_id,
        actor,
        answer=reply
        and (lambda token_id: reply(IssuedToken(id=token_id, token=None, detail=WITHHELD.format(id=token_id)))),
        label=body.label,
        expires_at=body.expires_at,
    )
    # The answer recorded for retries withholds the secret; this one, the first, shows it.
    return IssuedToken(id=token_id, token=secret)


@router.get(
    "/people/{person_id}/tokens",
    response_model=TokenPage,
    summary="List a person's tokens",
    responses=problems(403, 404, said={403: "Not an admin, nor the person", 404: "Nobody registered by this id"}),
)
async def list_tokens(
    person_id: Annotated[Id, Path(description="The person's id")],
    request: Request,
    app: App,
    actor: Caller,
    cursor: Annotated[str | None, Query(max_length=20, description="A previous page's `next`")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many tokens")] = 50,
):
    """An admin, or the person: their tokens, newest first — never a secret or its hash. `last_used_at` is
    kept to within a minute."""
    try:
        before = int(cursor) if cursor else None
    except ValueError:
        raise Problem(422, "cursor must be a value of a previous page's `next`") from None
    tokens, start = await run_in_threadpool(app.people.tokens_of, person_id, actor, before, limit)
    used = await request.app.state.token_usage.last_used(str(token.id) for token in tokens)
    now = app.clock.now()
    return TokenPage(tokens=[_view(token, used.get(str(token.id)), now) for token in tokens], next=_next(start))


@router.patch(
    "/tokens/{token_id}",
    response_model=TokenView,
    summary="Set a token's expiry",
    responses=problems(
        403,
        404,
        409,
        said={
            403: f"{_THEIRS}; or a person extending their own token",
            404: _NO_TOKEN,
            409: "The token is revoked, or is the built-in admin's (WARROOM_ADMIN_TOKEN)",
        },
    ),
)
async def set_token_expiry(token_id: TokenId, body: TokenExpiryIn, request: Request, app: App, actor: Caller):
    """An admin, or the token's person: when the token stops working (in the future). The person may bring
    their token's expiry forward, only an admin extend it; sessions opened with it expire no later."""
    token = await run_in_threadpool(app.people.set_token_expiry, token_id, body.expires_at, actor)
    used = await request.app.state.token_usage.last_used([token_id])
    return _view(token, used.get(str(token.id)), app.clock.now())


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a token",
    responses=problems(
        403,
        404,
        409,
        said={403: _THEIRS, 404: _NO_TOKEN, 409: "The built-in admin's token is a setting (WARROOM_ADMIN_TOKEN)"},
    ),
)
@in_thread
def revoke_token(token_id: TokenId, app: App, actor: Caller):
    """An admin, or the token's own person (a lost token, from their list): the token and every console
    session opened with it stop working at once. The built-in admin's token is WARROOM_ADMIN_TOKEN."""
    app.people.revoke_token(token_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _view(token: org.Token, last_used_at: datetime | None, now: datetime) -> TokenView:
    return TokenView(
        id=str(token.id),
        label=token.label,
        created_at=token.created_on,
        last_used_at=last_used_at,
        expires_at=token.expires_at,
        revoked=token.revoked,
        expired=token.expires_at is not None and token.expires_at <= now,
        parent=token.parent,
    )


def _next(start: int) -> str | None:
    return str(start) if start > 0 else None
