"""Request and response bodies of people management and tokens (strict: unknown fields are 422)."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from services.incident.schemas import Clock, PersonIn, StrictBody
from shared.text import Email, Line, Name, Url

# What only admins and the person see of someone; anyone else is shown null in their place.
PRIVATE_FIELDS = ("phone", "webhook_url", "admin")


class WorkingHoursOut(BaseModel):
    start: str
    end: str
    days: list[int]


class WakingHoursOut(BaseModel):
    start: str
    end: str


class PersonView(BaseModel):
    """A person as the caller may see them: ``phone``, ``webhook_url`` and ``admin`` are null unless the
    caller is an admin or the person."""

    id: str
    name: str
    email: str
    timezone: str
    phone: str | None
    groups: list[str]
    working_hours: WorkingHoursOut
    waking_hours: WakingHoursOut | None
    webhook_url: str | None
    admin: bool | None
    active: bool = Field(description="false once deactivated: no token of theirs works, and no command names them")


class PeoplePage(BaseModel):
    people: list[PersonView]
    next: str | None = Field(description="the cursor of the next page, or null on the last")


class WorkingHoursPatch(StrictBody):
    start: Clock | None = None
    end: Clock | None = None
    days: list[Annotated[int, Field(ge=1, le=7)]] | None = Field(default=None, min_length=1, max_length=7)


class WakingHoursPatch(StrictBody):
    start: Clock | None = None
    end: Clock | None = None


class PersonPatch(StrictBody):
    """A JSON merge patch (RFC 7386) of a person: fields left out stay, null removes one (only phone,
    waking_hours and webhook_url may be removed). The result is checked whole, exactly as a registration."""

    name: Name | None = None
    email: Email | None = None
    timezone: Annotated[str, Line(64)] | None = None
    phone: Annotated[str, Line(40)] | None = None
    groups: list[Annotated[str, Line(100, min_length=1)]] | None = Field(default=None, max_length=50)
    working_hours: WorkingHoursPatch | None = None
    waking_hours: WakingHoursPatch | None = None
    webhook_url: Url | None = None
    admin: bool | None = None


class Deactivated(PersonView):
    """The person, deactivated, and what that did."""

    revoked_tokens: list[str] = Field(description="the tokens revoked now (console sessions included)")
    left_groups: list[str]
    left_aspects: list[str] = Field(description="the SME directory's aspects they were taken out of")
    coverage_warnings: list[str] = Field(description="aspects left without an SME, and what a declaration does (R10)")


class TokenView(BaseModel):
    """A token as its person and admins see it: never its secret, nor its hash."""

    id: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None = Field(description="to within a minute; null if never used since recorded")
    expires_at: datetime | None
    revoked: bool
    expired: bool
    parent: str | None = Field(description="for a console session: the token it was opened with")


class TokenPage(BaseModel):
    tokens: list[TokenView]
    next: str | None


class TokenExpiryIn(StrictBody):
    expires_at: datetime = Field(description="ISO 8601 with a timezone, in the future")


def checked_person(merged: dict[str, Any]) -> dict[str, Any]:
    """A merged person validated as registration validates one (raises pydantic's ValidationError)."""
    return PersonIn.model_validate(merged).model_dump(mode="json")
