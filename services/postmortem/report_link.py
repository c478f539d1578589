"""Signed report links: the post-mortem's HTML report, opened from a notification or a chat message
without an API token (S1's exception for signed links, shared/links.py).

``GET /v1/postmortems/{id}/link`` makes a fresh link for anyone signed in (anyone signed in may read
a post-mortem); ``GET /links/report/{value}`` opens that one report with it, and nothing else. A link
that does not verify answers 403 with a page that says why (problem+json to a tool asking for JSON).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.postmortem import backtests, postmortems, render
from services.postmortem.api import IncidentId
from shared import link_pages, links
from shared.links import REPORT, LinkRefused, LinkSigner
from shared.openapi import problems
from shared.problems import Problem
from shared.web import Caller

router = APIRouter()


@dataclass(frozen=True)
class ReportLinks:
    """How this service makes and checks report links: None without secrets; where people reach it."""

    signer: LinkSigner | None
    base_url: str


class ReportLink(BaseModel):
    """A signed link to a post-mortem's report."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://warroom.example.com/postmortems/links/report/eyJlIjoxNzY4MzAxODgwLCJpIjoiMGI3ZT"
                    "ZhNGMtMmYxZC00YzhlLTlhNTMtNmQyZjFjN2I4ZTkwIiwiayI6InJlcG9ydCIsInAiOiI4ZDlmMWIyYy0zZTRhLTRiNWMtOWQ2"
                    "ZS03ZjhhOWIwYzFkMmUifQ.6wzH-yF6txDQ5jR5MuXH9i6PtKUHIOgywb7FnytD4Dw",
                    "expires_at": "2026-01-13T10:58:00Z",
                }
            ]
        }
    )
    url: str = Field(description="Opens the report's HTML without a token, for whoever holds it, until expires_at")
    expires_at: datetime = Field(description="When the link stops opening the report (WARROOM_LINK_TTL from now)")


async def _report(request: Request, incident_id: str) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        # One snapshot, so the facts, the narrative and the action items agree (as GET …/report.html reads it).
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await postmortems.read(conn, incident_id, request.app.state.clock.now())


@router.get(
    "/v1/postmortems/{incident_id}/link",
    response_model=ReportLink,
    tags=["post-mortems"],
    summary="Make a signed link to a post-mortem's report",
    responses=problems(
        404,
        409,
        said={
            404: "No such incident is known here (yet)",
            409: "Signed links are switched off: WARROOM_LINK_SECRETS is not set",
        },
    ),
)
async def get_report_link(incident_id: IncidentId, request: Request, caller: Caller) -> ReportLink:
    """A fresh signed link to the report's HTML, valid for ``WARROOM_LINK_TTL``, to share with whoever
    should read it without signing in (``warroom report ID --open`` opens one)."""
    made: ReportLinks = request.app.state.report_links
    if made.signer is None:
        # Not 503: retrying cannot help until an operator sets the secrets.
        raise Problem(
            409,
            "signed links are switched off on this Warroom: an operator sets WARROOM_LINK_SECRETS on the "
            "notifier, incident and post-mortem services (the same value on each)",
        )
    async with request.app.state.pool.acquire() as conn:
        await postmortems.story(conn, incident_id)  # 404 for an incident not known here
    now = request.app.state.clock.now()
    value = made.signer.sign(REPORT, incident_id, caller["id"], now)
    expires = made.signer.verify(value, REPORT, now).expires
    return ReportLink(url=links.report_url(made.base_url, value), expires_at=expires)


@router.get(f"{links.PATH_PREFIX}{REPORT}/{{value}}", include_in_schema=False)
async def open_report(value: str, request: Request) -> Response:
    """The report's HTML for whoever holds a valid link; no token is asked for."""
    made: ReportLinks = request.app.state.report_links
    if made.signer is None:
        return link_pages.refused_link(request, None)
    try:
        claims = made.signer.verify(value, REPORT, request.app.state.clock.now())
    except LinkRefused as refused:
        return link_pages.refused_link(request, refused)
    try:
        report = await _report(request, claims.incident)
    except Problem as missing:  # the incident is not (yet) known here
        return link_pages.refusal(request, missing.status, "No such post-mortem", missing.detail)
    tested = await backtests.beside_report(request.app.state.pool, report, request.app.state.clock.now())
    return link_pages.page(render.html(report, tested))
