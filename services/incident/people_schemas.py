"""Request and response bodies of people management and tokens (strict: unknown fields are 422)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from services.incident import examples
from services.incident.schemas import AppriseUrl, Clock, PersonIn, StrictBody, example
from shared.text import Email, Line, Name, Url

# What only admins and the person see of someone; anyone else is shown null in their place.
PRIVATE_FIELDS = ("phone", "webhook_url", "admin", "apprise_urls")


class WorkingHoursOut(BaseModel):
    """When a person works, on their own clock."""

    start: str = Field(description="Start of the working day, HH:MM")
    end: str = Field(description="End of the working day, HH:MM (24:00 for midnight)")
    days: list[int] = Field(description="Working days, ISO numbered: 1 is Monday, 7 Sunday")


class WakingHoursOut(BaseModel):
    """When a person may be woken."""

    start: str = Field(description="From, HH:MM")
    end: str = Field(description="Until, HH:MM (24:00 for midnight)")


class PersonView(BaseModel):
    """A person as the caller may see them: ``phone``, ``webhook_url``, ``admin`` and ``apprise_urls`` are null
    unless the caller is an admin or the person."""

    model_config = example(examples.PERSON)
    id: str = Field(description="The person's id")
    name: str = Field(description="Their name")
    email: str = Field(description="Their email address")
    timezone: str = Field(description="Their IANA timezone")
    phone: str | None = Field(description="Their phone number; null if none, or not yours to see")
    groups: list[str] = Field(description="Their groups")
    working_hours: WorkingHoursOut = Field(description="When they work")
    waking_hours: WakingHoursOut | None = Field(description="When they may be woken; null: any hour")
    webhook_url: str | None = Field(description="Their webhook; null if none, or not yours to see")
    admin: bool | None = Field(description="Whether they are an admin; null if not yours to see")
    active: bool = Field(description="false once deactivated: no token of theirs works, and no command names them")
    apprise_urls: dict[str, str] | None = Field(
        None, description="Their Apprise URL for phone and for sms; null if none, or not yours to see"
    )


class PeoplePage(BaseModel):
    """A page of people, in name order."""

    model_config = example({"people": [examples.PERSON], "next": None})
    people: list[PersonView] = Field(description="This page's people")
    next: str | None = Field(description="the cursor of the next page, or null on the last")


class WorkingHoursPatch(StrictBody):
    """Working hours to change: fields left out stay."""

    start: Clock | None = Field(None, description="Start of the working day, HH:MM")
    end: Clock | None = Field(None, description="End of the working day, HH:MM (24:00 for midnight)")
    days: list[Annotated[int, Field(ge=1, le=7)]] | None = Field(
        default=None, min_length=1, max_length=7, description="Working days, ISO numbered: 1 is Monday, 7 Sunday"
    )


class WakingHoursPatch(StrictBody):
    """Waking hours to change: fields left out stay."""

    start: Clock | None = Field(None, description="From, HH:MM")
    end: Clock | None = Field(None, description="Until, HH:MM (24:00 for midnight)")


class PersonPatch(StrictBody):
    """A JSON merge patch (RFC 7386) of a person: fields left out stay, null removes one (only phone,
    waking_hours, webhook_url and apprise_urls may be removed). The result is checked whole, exactly as a
    registration."""

    model_config = example(examples.PERSON_PATCH)
    name: Name | None = Field(None, description="Their name (admins only)")
    email: Email | None = Field(None, description="Their email address")
    timezone: Annotated[str, Line(64)] | None = Field(None, description="Their IANA timezone")
    phone: Annotated[str, Line(40)] | None = Field(None, description="Their phone number; null removes it")
    groups: list[Annotated[str, Line(100, min_length=1)]] | None = Field(
        default=None, max_length=50, description="Their groups, all of them (admins only)"
    )
    working_hours: WorkingHoursPatch | None = Field(None, description="When they work")
    waking_hours: WakingHoursPatch | None = Field(None, description="When they may be woken; null removes them")
    webhook_url: Url | None = Field(None, description="Their webhook; null removes it")
    admin: bool | None = Field(None, description="Whether they are an admin (admins only)")
    apprise_urls: dict[Literal["phone", "sms"], AppriseUrl | None] | None = Field(
        None, description="Their Apprise URL for phone and for sms, merged: null removes one, or (here) both"
    )


class Deactivated(PersonView):
    """The person, deactivated, and what that did."""

    model_config = example(
        {**examples.PERSON, "active": False, "revoked_tokens": [examples.TOKEN], "left_groups": ["sre"]}
        | {"left_aspects": ["payments"], "coverage_warnings": [examples.COVERAGE_WARNING]}
    )
    revoked_tokens: list[str] = Field(description="the tokens revoked now (console sessions included)")
    left_groups: list[str] = Field(description="The groups they were taken out of")
    left_aspects: list[str] = Field(description="the SME directory's aspects they were taken out of")
    coverage_warnings: list[str] = Field(description="aspects left without an SME, and what a declaration does (R10)")


class TokenView(BaseModel):
    """A token as its person and admins see it: never its secret, nor its hash."""

    model_config = example(examples.TOKEN_VIEW)
    id: str = Field(description="The token's id")
    label: str | None = Field(description="What it is for")
    created_at: datetime = Field(description="When it was issued")
    last_used_at: datetime | None = Field(description="to within a minute; null if never used since recorded")
    expires_at: datetime | None = Field(description="When it stops working; null: never")
    revoked: bool = Field(description="It was revoked: it never works again")
    expired: bool = Field(description="Its expiry has passed")
    parent: str | None = Field(description="for a console session: the token it was opened with")


class TokenPage(BaseModel):
    """A page of a person's tokens, newest first."""

    model_config = example({"tokens": [examples.TOKEN_VIEW], "next": None})
    tokens: list[TokenView] = Field(description="This page's tokens")
    next: str | None = Field(description="The `cursor` of the next page; null on the last")


class TokenExpiryIn(StrictBody):
    """When a token stops working."""

    model_config = example({"expires_at": "2026-06-30T23:59:59Z"})
    expires_at: datetime = Field(description="ISO 8601 with a timezone, in the future")


def checked_person(merged: dict[str, Any]) -> dict[str, Any]:
    """A merged person validated as registration validates one (raises pydantic's ValidationError)."""
    return PersonIn.model_validate(merged).model_dump(mode="json")
