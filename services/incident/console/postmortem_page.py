"""The incident's post-mortem draft (``/incidents/{id}/postmortem``): read it, write its narratives, add
action items, publish it — through the post-mortem service's API (WARROOM_POSTMORTEM_URL) with the
person's own session token as the bearer: the session is a real API token every service learns from
the stream, so the post-mortem service decides who may do what (its permission rows) and says why not.
"""

import asyncio
import json
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.incident.console import access, commands, people_lookup, views
from services.incident.console.access import Posted, SignedIn
from services.incident.console.refusals import Explained
from services.incident.errors import Invalid
from shared.text import Id

router = APIRouter(include_in_schema=False)
TIMEOUT = 10.0
# How long a new session may take to reach the post-mortem service (the stream's lag, normally milliseconds).
SEEN_WITHIN = 3.0
DONE = {
    "section": "The narrative is saved; its earlier versions stay in its history.",
    "action_item": "The action item is added.",
    "published": "The post-mortem is published: the incident is closed.",
}
UNREACHABLE = Explained(503, "The post-mortem service cannot be reached just now; nothing was changed. Try again.")


class _Client:
    """The post-mortem service, called as the signed-in person."""

    def __init__(self, request: Request, me: access.Me):
        base = access.sessions(request).settings.postmortem_internal_url()
        self.http = httpx.AsyncClient(
            base_url=base, timeout=TIMEOUT, headers={"Authorization": f"Bearer {me.session.secret}"}
        )

    async def __aenter__(self) -> "_Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """The call; a session opened moments ago may not have reached the post-mortem service yet (it learns
        tokens from the stream): a 401 is asked again for up to SEEN_WITHIN seconds."""
        deadline = asyncio.get_running_loop().time() + SEEN_WITHIN
        while True:
            answer = await self.http.request(method, path, json=body)
            if answer.status_code != 401 or asyncio.get_running_loop().time() > deadline:
                return answer
            await asyncio.sleep(0.2)


def _refusal(response: httpx.Response) -> Explained:
    """A problem+json answer in words; a 401 just after signing in means the service has not seen the session yet."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if response.status_code == 401:
        return Explained(401, "The post-mortem service does not know your session yet. Try again in a moment.")
    detail = str(problem.get("detail") or "the post-mortem service refused it")
    return Explained(response.status_code, detail[:1].upper() + detail[1:].rstrip(".") + ".", problem.get("rule"))


async def _show(request: Request, me: access.Me, incident_id: str, status: int = 200, **context: Any) -> HTMLResponse:
    report, link, error = None, None, context.pop("error", None)
    try:
        async with _Client(request, me) as http:
            answer = await http.request("GET", f"/v1/postmortems/{incident_id}")
            if answer.status_code == 200:
                report = answer.json()
                linked = await http.request("GET", f"/v1/postmortems/{incident_id}/link")
                link = linked.json().get("url") if linked.status_code == 200 else None
            else:
                error = error or _refusal(answer)
    except httpx.HTTPError:
        error = error or UNREACHABLE
    people = await people_lookup.choices(request.app.state.pool) if report else []
    return views.render(
        request, "postmortem.html.j2", me.session, status=status if report else max(status, 404 if error else 200),
        incident_id=incident_id, report=report, link=link, error=error, people=people,
        done=DONE.get(request.query_params.get("done", "")), filled=context.get("filled", {}),
    )  # fmt: skip


@router.get("/incidents/{incident_id}/postmortem", response_class=HTMLResponse)
async def postmortem(incident_id: Id, request: Request, me: SignedIn) -> HTMLResponse:
    return await _show(request, me, incident_id)


async def _call(
    request: Request, me: access.Me, incident_id: str, method: str, path: str, body: Any, done: str
) -> Response:
    try:
        async with _Client(request, me) as http:
            answer = await http.request(method, f"/v1/postmortems/{incident_id}{path}", body)
    except httpx.HTTPError:
        return await _show(request, me, incident_id, status=503, error=UNREACHABLE)
    if answer.status_code >= 400:
        refused = _refusal(answer)
        return await _show(request, me, incident_id, status=refused.status, error=refused, filled=body or {})
    return views.see_other(f"/incidents/{incident_id}/postmortem?done={done}#done")


@router.post("/incidents/{incident_id}/postmortem/sections/{section}", response_class=HTMLResponse)
async def edit_section(incident_id: Id, section: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    body = {"text": commands.field(form, "text")}
    return await _call(request, me, incident_id, "PUT", f"/sections/{section}", body, "section")


@router.post("/incidents/{incident_id}/postmortem/action-items", response_class=HTMLResponse)
async def add_action_item(incident_id: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    owner = commands.field(form, "owner")
    try:
        owner = await people_lookup.resolve(request.app.state.pool, access.application(request), owner, "owner")
    except Invalid as exc:
        return await _show(request, me, incident_id, status=422, error=Explained(422, exc.detail))
    body: dict[str, Any] = {
        "title": commands.field(form, "title").strip(),
        "owner": owner,
        "due": commands.field(form, "due"),
        "kind": commands.field(form, "kind"),
    }
    if change := commands.field(form, "change").strip():
        body["change"] = _json_or_text(change)
    return await _call(request, me, incident_id, "POST", "/action-items", body, "action_item")


def _json_or_text(text: str) -> Any:
    """A refinement's change as JSON; text that is not JSON goes as it is, and the service says what is wrong."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@router.post("/incidents/{incident_id}/postmortem/publish", response_class=HTMLResponse)
async def publish(incident_id: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    return await _call(request, me, incident_id, "POST", "/publish", None, "published")
