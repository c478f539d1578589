"""HTTP: the acknowledge link from a page notification, without a token (S1's exception for signed links).

``GET /links/acknowledge/{value}`` shows what the incident is and who is paged, with one button, and
changes nothing (link previews and mail scanners open links). Its form POSTs the same value back in
the body: that acknowledges as the paged person, once (R11). A second POST says it was already
acknowledged and records nothing; a page superseded since (escalated on, handed over, the incident
resolved or closed) answers 409 naming R11. Pages for a browser, problem+json for ``Accept:
application/json``; the page and its words are links_page.py's.
"""

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.incident import history, links_page
from services.incident.api.answers import answer
from services.incident.application import IncidentApplication
from services.incident.deps import App
from services.incident.domain import Context, Incident
from services.incident.errors import Conflict, NotFound
from services.incident.links_page import ACKNOWLEDGED, SUPERSEDED, PageFacts, Standing
from services.incident.policy import Actor
from shared import link_pages, links
from shared.contract import Envelope
from shared.links import ACKNOWLEDGE, LinkClaims, LinkRefused, LinkSigner
from shared.settings import Settings

router = APIRouter(include_in_schema=False)
PATH = f"{links.PATH_PREFIX}{ACKNOWLEDGE}/{{value}}"


@dataclass(frozen=True)
class AcknowledgeLinks:
    """How this service checks acknowledge links (None without secrets), and where people reach it."""

    signer: LinkSigner | None
    public_url: str


def install(app: FastAPI, settings: Settings) -> None:
    """The routes, and the signer they verify with (a short secret stops the start; none is warned about)."""
    app.state.acknowledge_links = AcknowledgeLinks(links.signer(settings, "incident"), settings.public_url)
    app.include_router(router)


class Superseded(Exception):
    def __init__(self, standing: Standing):
        super().__init__(standing.why)
        self.standing = standing


class AlreadyAcknowledged(Exception):
    """The page was answered already: nothing is recorded a second time."""


def _paging_event(app: IncidentApplication, claims: LinkClaims) -> Envelope | None:
    """The event the link says paged its person (None when the incident has no such event)."""
    if claims.page is None or claims.page < 1:
        return None
    found = history.published(app, claims.incident, claims.page - 1, 1)
    return found[0] if found and found[0].sequence == claims.page else None


def _facts(app: IncidentApplication, claims: LinkClaims, incident: Incident, public_url: str) -> PageFacts:
    def name(person: str) -> str:
        try:
            return str(app.people.person(person).name)
        except NotFound:
            return person

    people = {claims.person, incident.manager, incident.paged, incident.declared_by}
    return PageFacts(
        incident=incident,
        names={person: name(person) for person in people if person},
        process=app.incidents.process_of(incident),
        person=claims.person,
        console_url=links.incident_url(public_url, claims.incident),
    )


def _read(app: IncidentApplication, claims: LinkClaims, public_url: str) -> tuple[PageFacts, Standing]:
    incident = app.incidents.incident(claims.incident)
    facts = _facts(app, claims, incident, public_url)
    return facts, links_page.standing(incident, claims.person, _paging_event(app, claims), facts.names)


def _acknowledge(app: IncidentApplication, claims: LinkClaims, public_url: str) -> tuple[PageFacts, str]:
    """Acknowledge as the paged person, judging the page again on the state the command loads (a race
    with an escalation or a second click is decided there, not on what the page showed)."""
    facts, _ = _read(app, claims, public_url)
    event = _paging_event(app, claims)

    def change(incident: Incident, ctx: Context) -> None:
        now = links_page.standing(incident, claims.person, event, facts.names)
        if now.state == SUPERSEDED:
            raise Superseded(now)
        if now.state == ACKNOWLEDGED:
            raise AlreadyAcknowledged()
        incident.acknowledge(ctx)

    try:
        incident = app.incidents.command(claims.incident, None, Actor(person_id=claims.person), change)
    except AlreadyAcknowledged:
        return facts, "already"
    except Conflict as refused:  # closed between the page and the click (R15's refusal of every command)
        raise Superseded(Standing(SUPERSEDED, refused.detail[0].upper() + refused.detail[1:] + ".")) from None
    return PageFacts(incident, facts.names, facts.process, facts.person, facts.console_url), "acknowledged"


def _verified(request: Request, value: str) -> LinkClaims | Response:
    made: AcknowledgeLinks = request.app.state.acknowledge_links
    if made.signer is None:
        return link_pages.refused_link(request, None)
    try:
        return made.signer.verify(value, ACKNOWLEDGE, request.app.state.application.clock.now())
    except LinkRefused as refused:
        return link_pages.refused_link(request, refused)


def _superseded(request: Request, standing: Standing) -> Response:
    return link_pages.refusal(
        request,
        409,
        "This page no longer needs an answer",
        standing.why,
        hint="Open the incident in the console to see who is in charge now.",
        rule="R11",
        public_url=request.app.state.acknowledge_links.public_url,
    )


def _missing(request: Request, missing: NotFound) -> Response:
    return link_pages.refusal(request, 404, "No such incident", missing.detail[0].upper() + missing.detail[1:] + ".")


@router.get(PATH)
async def confirm(value: str, request: Request, app: App) -> Response:
    """The confirmation page: what the incident is, who is paged, one button. Changes nothing."""
    claims = _verified(request, value)
    if isinstance(claims, Response):
        return claims
    public_url = request.app.state.acknowledge_links.public_url
    try:
        facts, standing = await run_in_threadpool(_read, app, claims, public_url)
    except NotFound as missing:
        return _missing(request, missing)
    if standing.state == SUPERSEDED:
        return _superseded(request, standing)
    outcome = "already" if standing.state == ACKNOWLEDGED else "confirm"
    return link_pages.page(links_page.render(facts, outcome, value))


@router.post(PATH)
async def acknowledge(
    value: str, request: Request, app: App, response: Response, link: Annotated[str, Form(max_length=1024)] = ""
) -> Response:
    """Acknowledge as the paged person, once; the form must carry the link's value in its body too."""
    if not hmac.compare_digest(link.encode(), value.encode()):
        return link_pages.refusal(
            request,
            400,
            "Acknowledge from the page",
            "The acknowledgement must come from the link's own page: its form carries the link.",
            hint="Open the link again and press the button.",
        )
    claims = _verified(request, value)
    if isinstance(claims, Response):
        return claims
    public_url = request.app.state.acknowledge_links.public_url
    try:
        facts, outcome = await run_in_threadpool(_acknowledge, app, claims, public_url)
    except NotFound as missing:
        return _missing(request, missing)
    except Superseded as superseded:
        return _superseded(request, superseded.standing)
    if link_pages.wants_json(request):  # a tool: the incident as the API shows it, as POST …/acknowledge does
        shown = await run_in_threadpool(answer, app, response, facts.incident)
        return JSONResponse(jsonable_encoder(shown), headers={"ETag": response.headers["etag"], **link_pages.HEADERS})
    return link_pages.page(links_page.render(facts, outcome))
