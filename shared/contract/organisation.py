"""Organisation events: people, tokens, the SME directory, process versions, minor reports."""

from typing import Annotated

from shared.contract.base import Data, Key, PersonId
from shared.text import Aspect, Json, Line, Message, Name, Title

# --- organisation: people, tokens, directory, process (subject = the aggregate's id) ---


class WorkingHours(Data):
    start: Annotated[str, Line(5)]
    end: Annotated[str, Line(5)]
    days: list[int]


class WakingHours(Data):
    start: Annotated[str, Line(5)]
    end: Annotated[str, Line(5)]


class PersonRegistered(Data):
    id: PersonId
    name: Name
    email: Annotated[str, Line(254)]
    timezone: Annotated[str, Line(64)]
    phone: Annotated[str, Line(40)] | None = None
    groups: list[Annotated[str, Line(100)]] = []
    working_hours: WorkingHours
    waking_hours: WakingHours | None = None
    webhook_url: Annotated[str, Line(2000)] | None = None
    admin: bool = False


class TokenIssued(Data):
    """A token's SHA-256 hash (never the token): every service authenticates from these."""

    id: Key
    person_id: PersonId
    token_hash: Annotated[str, Line(128)]


class TokenRevoked(Data):
    id: Key


class AspectSmesSet(Data):
    aspect: Aspect
    smes: list[PersonId]
    by: PersonId


class ProcessPublished(Data):
    version: int
    document: Json
    by: PersonId
    # The post-mortem whose refinement produced this version (R17), if any.
    cites_postmortem: Key | None = None
    # The post-mortem's action item that produced it (R17: applied once), if any.
    cites_action_item: int | None = None


class MinorReportFiled(Data):
    id: Key
    title: Title
    description: Message
    aspect: Aspect
    by: PersonId
