"""Request bodies of the incident service (strict: unknown fields are 422), and the directory's answers.
The incident's own answers are incident_schemas.py's; people's and tokens' people_schemas.py's."""

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.incident import examples
from shared.text import CLOCK, Aspect, Email, Id, Json, Line, Message, Name, Reason, Title, Url

# Every text field is one of shared/text's types: no control characters, no line breaks outside
# multi-line text, no lone surrogates, a maximum length (422 naming the field, before any write).
PersonRef = Id
Clock = Annotated[str, Field(pattern=CLOCK)]
Severity = Annotated[int, Field(ge=1, le=100)]
# An Apprise URL (scheme://…, https://github.com/caronc/apprise): pover://, ntfys://, tgram://, json://, …
AppriseUrl = Annotated[str, Line(2000, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")]
AppriseUrls = dict[Literal["phone", "sms"], AppriseUrl]


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA timezone") from None
    return name


def example(*bodies: Any) -> ConfigDict:
    """A model's examples in the API document."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkingHours(StrictBody):
    """When a person works, on their own clock (R19: who may be asked to work, and when)."""

    model_config = example(examples.WORKING_HOURS)
    start: Clock = Field(description="Start of the working day, HH:MM on the person's clock")
    end: Clock = Field(description="End of the working day, HH:MM (24:00 for midnight)")
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="Working days, ISO numbered: 1 is Monday, 7 Sunday"
    )


class WakingHours(StrictBody):
    """When a person may be woken for a level whose immediacy is `waking_hours`."""

    model_config = example(examples.WAKING_HOURS)
    start: Clock = Field(description="From, HH:MM on the person's clock")
    end: Clock = Field(description="Until, HH:MM (24:00 for midnight)")


class PersonIn(StrictBody):
    """A person to register (admins only)."""

    model_config = example(examples.PERSON_IN)
    name: Name = Field(description="Their name as people call them")
    email: Email = Field(description="Where email notifications and sign-in links go")
    timezone: Annotated[str, Line(64), AfterValidator(_timezone)] = Field(
        description="Their IANA timezone (Europe/London): their hours are read on this clock"
    )
    phone: Annotated[str, Line(40)] | None = Field(None, description="For phone and SMS notifications")
    groups: list[Annotated[str, Line(100, min_length=1)]] = Field(
        default=[], max_length=50, description="Groups they belong to (observers are named by group)"
    )
    working_hours: WorkingHours = Field(description="When they work")
    waking_hours: WakingHours | None = Field(None, description="When they may be woken; null: any hour")
    webhook_url: Url | None = Field(None, description="Where their webhook notifications are POSTed")
    admin: bool = Field(False, description="May configure Warroom: people, tokens, the process, the directory")
    apprise_urls: AppriseUrls | None = Field(
        None,
        description="How the phone and sms channels reach them: an Apprise URL for each (pover://, ntfys://, "
        "tgram://, signal://, twilio://, json://…); pages at any hour go there too. Secrets: shown only to "
        "admins and the person",
    )


class TokenIn(StrictBody):
    """A token to issue (admins only)."""

    model_config = example(examples.TOKEN_IN)
    person_id: PersonRef = Field(description="The person the token signs in as")
    label: Annotated[str, Line(100)] | None = Field(default=None, description="what the token is for, e.g. laptop")
    expires_at: datetime | None = Field(default=None, description="ISO 8601 with a timezone, in the future")


class AspectIn(StrictBody):
    """The SMEs of an aspect, in the order they are paged (R10)."""

    model_config = example({"smes": [examples.ADA]})
    smes: list[PersonRef] = Field(max_length=100, description="People ids, first paged first; empty: no SME")


class AspectOut(BaseModel):
    """An aspect of the company's systems and its SMEs (R10)."""

    model_config = example(examples.ASPECT)
    aspect: str = Field(description="The aspect's name, as incidents are declared for it")
    smes: list[str] = Field(description="Its SMEs' person ids, in the order they are paged")


class AspectList(BaseModel):
    """The SME directory (R10)."""

    model_config = example({"aspects": [examples.ASPECT]})
    aspects: list[AspectOut] = Field(description="Every aspect, by name")


class CoverageReport(BaseModel):
    """R10: where the directory does not cover the company."""

    model_config = example(examples.COVERAGE_REPORT)
    uncovered: list[str] = Field(description="the directory's aspects without an SME")
    declared_without_sme: list[str] = Field(
        description="aspects incidents were declared for that have no SME, unknown aspects included"
    )
    catch_all_sme: str | None = Field(description="who is paged for them; null: such declarations are refused")
    warnings: list[str] = Field(description="What to fix, in words (no catch-all SME set)")


class DeclareIn(StrictBody):
    """An incident to declare (R02)."""

    model_config = example(examples.DECLARE, {**examples.DECLARE, "manager": examples.ADA})
    title: Title = Field(description="What is wrong, in a line")
    description: Message = Field("", description="What is known so far")
    aspect: Aspect = Field(description="The aspect affected: its first SME manages and is paged (R02, R10)")
    severity: Severity = Field(description="The level, 1 the most severe, as the current process defines them (R09)")
    manager: PersonRef | None = Field(None, description="Who manages instead of the aspect's first SME")


class PersonRefIn(StrictBody):
    """The person a command names."""

    model_config = example({"person": examples.WES})
    person: PersonRef = Field(description="A person's id")


class HandoverIn(StrictBody):
    """A handover offered (R04)."""

    model_config = example({"to": examples.WES, "briefing": "Card payments fail; rollback of 4.12 under way."})
    to: PersonRef = Field(description="The person offered the manager's role")
    briefing: Reason = Field(description="What they need to know to take over; not blank")


class ForceHandoverIn(StrictBody):
    """A forced handover (R04: admins)."""

    model_config = example({"to": examples.WES, "reason": "Ada is unreachable since 02:00."})
    to: PersonRef = Field(description="The new manager")
    reason: Reason = Field(description="Why it is forced; recorded, not blank")


class SeverityInputIn(StrictBody):
    """An SME's or observer's view of the level (R07)."""

    model_config = example({"level": 1, "comment": "Every card payment fails."})
    level: Severity = Field(description="The level they think fits, 1 the most severe")
    comment: Reason = Field("", description="Why")


class SeverityIn(StrictBody):
    """A severity change by the manager (R13)."""

    model_config = example({"level": 1, "reason": "Every card payment fails.", "considered_input": [4]})
    level: Severity = Field(description="The new level, 1 the most severe")
    reason: Reason = Field(description="Why; recorded, not blank")
    considered_input: list[Annotated[int, Field(ge=1)]] = Field(
        default=[], max_length=100, description="The `sequence` of each severity input considered"
    )


class EmptyIn(StrictBody):
    """No fields: the body may be left out."""

    model_config = example({})


class StatusUpdateIn(StrictBody):
    """All five parts are required (R06); they are optional here so one 422 can name every gap."""

    model_config = example(
        {
            "learned": "The 502s come from the payment gateway's new TLS certificate.",
            "tried": "Pinned the previous certificate on one node.",
            "outcome": "That node's payments succeed.",
            "working_on": "Rolling the pin out to every node.",
            "remaining": "Ask the gateway's vendor to fix the chain.",
        }
    )
    learned: Message | None = Field(None, description="What was learned since the last update")
    tried: Message | None = Field(None, description="What was tried")
    outcome: Message | None = Field(None, description="What came of it")
    working_on: Message | None = Field(None, description="What is being worked on now")
    remaining: Message | None = Field(None, description="What remains to be done")


class BriefingIn(StrictBody):
    """A briefing for the observers (R08)."""

    model_config = example({"summary": "Card payments fail since 09:12; a fix is being rolled out."})
    summary: Message = Field(description="What the observers are told")


class PublicUpdateIn(StrictBody):
    """A public update (by the PR manager, R08)."""

    model_config = example({"message": "Some card payments fail; we are fixing it. Next update at 11:00."})
    message: Message = Field(description="What the public is told")


class QuestionIn(StrictBody):
    """A request for information about who is affected."""

    model_config = example({"question": "Which merchants saw failed payments since 09:12?"})
    question: Message = Field(description="What is asked")


class FindingsIn(StrictBody):
    """What was found about who is affected."""

    model_config = example({"findings": "412 merchants, all on the EU gateway."})
    findings: Message = Field(description="What was found")


class ResolveIn(StrictBody):
    """How the incident was resolved (R15)."""

    model_config = example({"resolution": "Pinned the previous certificate.", "test_plan": "1000 test payments."})
    resolution: Message = Field(description="What fixed it; not blank")
    test_plan: Message = Field(description="The test plan that verified the fix; not blank")


class ReopenIn(StrictBody):
    """Why a resolved incident is reopened."""

    model_config = example({"reason": "Payments fail again on the US gateway."})
    reason: Message = Field(description="Why; not blank")


class ReportIn(StrictBody):
    """A minor report (R12): too small for the incident process."""

    model_config = example(examples.REPORT_IN)
    title: Title = Field(description="What is wrong, in a line")
    description: Message = Field("", description="The details")
    aspect: Aspect = Field(description="The aspect it concerns")


class ReportFiled(BaseModel):
    """A minor report, recorded."""

    model_config = example({"id": "bcd91700-3209-4cbf-967d-3e224ffb2b37"})
    id: str = Field(description="The report's id")


class RefinementIn(StrictBody):
    """R17: a process-refinement action item recorded on a post-mortem, with exactly its recorded change."""

    model_config = example(examples.REFINEMENT_IN)
    postmortem: Annotated[Id, Field(description="the post-mortem's incident id")]
    action_item: Annotated[int, Field(ge=1, description="the action item's number on that post-mortem")]
    change: Json = Field(description="a JSON merge patch (RFC 7386) on the process document: the item's change")
