"""Policy back-testing, the use case: the incidents in scope read from the projection, each judged under
the process version it ran with and under the proposal (``backtest.py``), answered in one document.

Everything is read in one snapshot. Nothing is written: a back-test changes nothing anywhere.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi.exceptions import RequestValidationError

from services.postmortem import readmodel, records
from services.postmortem.adherence import Hours
from services.postmortem.backtest import Judged, judge
from services.postmortem.backtest_answer import answer
from services.postmortem.domain import Story, fold
from services.postmortem.postmortems import story as known_story
from services.postmortem.proposals import Proposal, Unfit, named_catch_all, proposed
from services.postmortem.replay import replay_both
from services.postmortem.time_on_incidents import TENURE_LOOKBACK, TimeOnIncidents
from services.postmortem.timeline import DECLARED, INCIDENT, Entry
from shared.problems import Problem
from shared.process.document import ProcessDocument
from shared.process.rules import Rules

# No scope: the incidents declared in the last 90 days.
DEFAULT_SCOPE = timedelta(days=90)
# What one request may replay (about 2 s for 1,000 incidents of 50 events): narrow the scope beyond it.
MAX_INCIDENTS = 5_000
ENTRY_COLUMNS = "incident_id, at, event_id, sequence, type, actor, data"


@dataclass(frozen=True)
class Scope:
    since: datetime | None = None
    incidents: tuple[str, ...] | None = None

    @classmethod
    def of(cls, since: datetime | None, incidents: list[str] | None) -> "Scope":
        """As a request gives it; a moment without an offset is UTC."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return cls(since, tuple(incidents) if incidents is not None else None)

    def start(self, now: datetime) -> datetime | None:
        """From when incidents count: ``since``, or 90 days back when no scope is given at all."""
        if self.since is None and self.incidents is None:
            return now - DEFAULT_SCOPE
        return self.since


@dataclass(frozen=True)
class Past:
    """The incidents in scope as the projection holds them, with what judging them needs: their process
    versions, the paged people's hours (R11), names, and people's time on incidents around them."""

    scope: Scope
    stories: list[Story]
    versions: dict[int, dict[str, Any]]
    hours: Hours
    names: dict[str, str]
    time_on: TimeOnIncidents
    now: datetime

    def name(self, person: str | None) -> str:
        return "nobody" if person is None else self.names.get(person) or person

    @property
    def judging(self) -> tuple[Hours, TimeOnIncidents, datetime]:
        """What a replay reads besides the story and the rules."""
        return self.hours, self.time_on, self.now


async def load(conn: asyncpg.Connection, scope: Scope, now: datetime) -> Past:
    """The incidents in scope and what judging them needs, read in the caller's transaction."""
    stories = await _stories(conn, await _in_scope(conn, scope, now))
    # The current version too: a proposal is validated against it even when no incident ran under it.
    current = await conn.fetchval("SELECT max(version) FROM process_versions")
    versions = await _versions(conn, {s.process_version for s in stories} | ({current} if current else set()))
    context = await _context(conn, stories, now)
    paged = {p.person for s in stories for p in s.pages}
    hours = await readmodel.hours(conn, paged)
    names = await readmodel.names(conn, paged | {stint.person for s in stories for stint in s.stints})
    return Past(scope, stories, versions, hours, names, TimeOnIncidents([*stories, *context]), now)


def back_test(past: Past, proposal: Proposal, proposed_as: str) -> dict[str, Any]:
    """Each incident judged under its own version and under the proposal, and the answer. Pure."""
    before = {version: Rules.of(doc) for version, doc in past.versions.items()}
    after = {version: Rules.of(doc) for version, doc in proposal.documents.items()}
    judged: list[Judged] = [
        judge(
            story,
            *replay_both(story, before[story.process_version], after[story.process_version], *past.judging),
            past.name,
        )
        for story in past.stories
    ]
    scope = past.scope
    return answer(
        judged,
        [after[version] for version in sorted({story.process_version for story in past.stories})],
        proposal=proposed_as,
        warnings=proposal.warnings,
        scope={"since": scope.start(past.now), "incidents": list(scope.incidents) if scope.incidents else None},
        now=past.now,
    )


async def run(
    conn: asyncpg.Connection,
    scope: Scope,
    change: dict[str, Any] | None,
    document: ProcessDocument | None,
    now: datetime,
) -> dict[str, Any]:
    """The back-test of a ``change`` (merged onto each incident's version) or a whole ``document``."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        past = await load(conn, scope, now)
        proposal = _proposal(past.versions, change, document)
        await _check_catch_all(conn, named_catch_all(change, document), "document" if document else "change")
    return back_test(past, proposal, "document" if document else "change")


async def beside_report(pool: asyncpg.Pool, report: dict[str, Any], now: datetime) -> dict[int, dict[str, Any]]:
    """The back-test of each process refinement of a draft not applied yet, on the last 90 days, by item:
    its summary, or why it cannot be back-tested. The incidents are read once for all of them. A published
    report is frozen (R16), and none of its refinements can be applied any more: nothing is added to it."""
    items = [a for a in report["action_items"] if a["kind"] == "process_refinement" and not a["applied_version"]]
    if not items or report["state"] != "draft":
        return {}
    try:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            past = await load(conn, Scope(), now)
    except Problem as refused:
        return {item["id"]: {"refused": refused.detail} for item in items}
    shown: dict[int, dict[str, Any]] = {}
    for item in items:
        try:
            shown[item["id"]] = back_test(past, _proposal(past.versions, item["change"], None), "change")
        except RequestValidationError as unfit:
            said = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in unfit.errors())
            shown[item["id"]] = {"refused": f"the change does not fit every process version: {said}"}
    return shown


async def of_refinement(
    conn: asyncpg.Connection, incident_id: str, item_id: int, scope: Scope, now: datetime
) -> dict[str, Any]:
    """The back-test of a post-mortem's process-refinement action item, before anyone applies it."""
    await known_story(conn, incident_id)  # 404 for an incident not known here
    item = await records.action_item(conn, incident_id, item_id)
    if item is None:
        raise Problem(404, f"post-mortem {incident_id!r} has no action item {item_id}")
    if item["kind"] != "process_refinement":
        raise Problem(
            409,
            f"action item {item_id} is a {item['kind']} item: only a process refinement changes the process",
            rule="R17",
        )
    return await run(conn, scope, item["change"], None, now)


def _proposal(versions: dict[int, dict[str, Any]], change: dict[str, Any] | None, document) -> Proposal:
    try:
        return proposed(versions, change, document)
    except Unfit as unfit:
        # Answered as PUT /v1/process answers an invalid document (shared/problems.py), under `change`.
        raise RequestValidationError([{**e, "loc": ("body", "change", *e["loc"])} for e in unfit.errors]) from None


async def _check_catch_all(conn: asyncpg.Connection, person: str | None, field: str) -> None:
    """As PUT /v1/process checks it: a registered person (422), active (409)."""
    if person is None:
        return
    row = await conn.fetchrow("SELECT data->>'name' AS name, active FROM people WHERE id = $1", person)
    if row is None:
        raise Problem(
            422,
            f"catch_all_sme: no registered person {person}",
            errors=[{"field": f"{field}.catch_all_sme", "message": f"unknown person {person}"}],
        )
    if not row["active"]:
        raise Problem(
            409,
            f"catch_all_sme: {row['name']} ({person}) is deactivated and cannot be named in new commands; "
            "an admin may activate them again",
            errors=[{"field": f"{field}.catch_all_sme", "message": f"{row['name']} is deactivated"}],
        )


async def _in_scope(conn: asyncpg.Connection, scope: Scope, now: datetime) -> list[str]:
    """The incidents in scope, in the order they were declared; 422 for an id not known here."""
    start = scope.start(now)
    if scope.incidents is None:
        rows = await conn.fetch(
            "SELECT incident_id FROM timeline WHERE type = $1 AND at >= $2 ORDER BY at, incident_id", DECLARED, start
        )
    else:
        rows = await conn.fetch(
            "SELECT incident_id FROM timeline WHERE type = $1 AND incident_id = ANY($2::text[]) "
            "AND ($3::timestamptz IS NULL OR at >= $3) ORDER BY at, incident_id",
            DECLARED,
            list(scope.incidents),
            start,
        )
        await _all_known(conn, scope.incidents)
    found = [row["incident_id"] for row in rows]
    if len(found) > MAX_INCIDENTS:
        raise Problem(
            422,
            f"the scope holds {len(found)} incidents; at most {MAX_INCIDENTS} are back-tested at once: "
            "narrow it with since or incidents",
            errors=[{"field": "since", "message": f"must leave at most {MAX_INCIDENTS} incidents in scope"}],
        )
    return found


async def _all_known(conn: asyncpg.Connection, incidents: tuple[str, ...]) -> None:
    known = {
        row["incident_id"]
        for row in await conn.fetch(
            "SELECT incident_id FROM timeline WHERE type = $1 AND incident_id = ANY($2::text[])",
            DECLARED,
            list(incidents),
        )
    }
    unknown = [(n, i) for n, i in enumerate(incidents) if i not in known]
    if unknown:
        raise Problem(
            422,
            f"no such incident is known here: {', '.join(i for _, i in unknown)}",
            errors=[{"field": f"incidents.{n}", "message": "no such incident is known here"} for n, _ in unknown],
        )


async def _stories(conn: asyncpg.Connection, incidents: list[str]) -> list[Story]:
    """The incidents' stories, in the order given, from their own events."""
    rows = await conn.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM timeline WHERE incident_id = ANY($1::text[]) AND type LIKE $2",
        incidents,
        f"{INCIDENT}%",
    )
    entries: dict[str, list[Entry]] = defaultdict(list)
    for row in rows:
        entries[row[0]].append(Entry(*row))  # the columns in the order of Entry's fields
    return [story for incident in incidents if (story := fold(entries[incident])) is not None]


async def _context(conn: asyncpg.Connection, stories: list[Story], now: datetime) -> list[Story]:
    """The other incidents declared in the week before the first one in scope and until the last one
    ended: people's time on them counts toward their tenure (R05) and load (R19) as it did."""
    if not stories:
        return []
    start = min(s.declared_at for s in stories) - TENURE_LOOKBACK
    end = max((s.resolved_at if s.status != "open" and s.resolved_at else now) for s in stories)
    rows = await conn.fetch(
        "SELECT incident_id FROM timeline WHERE type = $1 AND at >= $2 AND at <= $3 AND NOT incident_id = ANY($4)",
        DECLARED,
        start,
        end,
        [s.incident_id for s in stories],
    )
    return await _stories(conn, [row["incident_id"] for row in rows])


async def _versions(conn: asyncpg.Connection, numbers: set[int]) -> dict[int, dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT version, document FROM process_versions WHERE version = ANY($1::int[])", sorted(numbers)
    )
    found = {row["version"]: row["document"] for row in rows}
    if missing := sorted(numbers - set(found)):
        raise Problem(
            503,
            f"process version {missing[0]} has not reached this service yet; retry shortly",
            headers={"Retry-After": "5"},
        )
    return found
