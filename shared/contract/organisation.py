"""Organisation events: people, tokens, the SME directory, process versions, minor reports."""
from typing import Any

from shared.contract.base import Data, PersonId

# --- organisation: people, tokens, directory, process (subject = the aggregate's id) ---

class WorkingHours(Data):
    start: str
    end: str
    days: list[int]


class WakingHours(Data):
    start: str
    end: str


class PersonRegistered(Data):
    id: PersonId
    name: str
    email: str
    timezone: str
    phone: str | None = None
    groups: list[str] = []
    working_hours: WorkingHours
    waking_hours: WakingHours | None = None
    webhook_url: str | None = None
    admin: bool = False


class TokenIssued(Data):
    """A token's SHA-256 hash (never the token): every service authenticates from these."""
    id: str
    person_id: PersonId
    token_hash: str


class TokenRevoked(Data):
    id: str


class AspectSmesSet(Data):
    aspect: str
    smes: list[PersonId]
    by: PersonId


class ProcessPublished(Data):
    version: int
    document: dict[str, Any]
    by: PersonId
    # The post-mortem whose refinement produced this version (R17), if any.
    cites_postmortem: str | None = None
    # The post-mortem's action item that produced it (R17: applied once), if any.
    cites_action_item: int | None = None


class MinorReportFiled(Data):
    id: str
    title: str
    description: str
    aspect: str
    by: PersonId
