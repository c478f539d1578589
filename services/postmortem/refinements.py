"""R17: applying a process refinement from a post-mortem.

The incident service owns the process, so applying forwards the caller's own command — with the
caller's own bearer token — to its ``POST /v1/process/refinements``: the one synchronous call
between services. It names the action item and its recorded change, which the incident service
knows from ``warroom.postmortem.action_item_added.v1`` (a 503 with Retry-After while that has not
reached it yet). Its answer decides: on success the action item records the version it
published; on a refusal its problem is passed through as it is and nothing changes here.
"""

from datetime import datetime
from typing import Any

import asyncpg
import httpx

from services.postmortem import readmodel, records
from services.postmortem.permissions import APPLY
from services.postmortem.postmortems import writable
from shared import logs
from shared.problems import Problem

log = logs.get(__name__)


class RefinementRefused(Exception):
    """The incident service refused the refinement: its answer goes back to the caller unchanged."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"incident service answered {response.status_code}")
        self.response = response


class IncidentService:
    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def refine(self, authorization: str, postmortem: str, item_id: int, change: dict[str, Any]) -> int:
        """The process version the refinement published; raises `RefinementRefused` with any other answer. The
        incident service checks the item against the one it learned from our stream (R17)."""
        try:
            response = await self.client.post(
                "/v1/process/refinements",
                json={"postmortem": postmortem, "action_item": item_id, "change": change},
                headers={"Authorization": authorization},
            )
        except httpx.HTTPError as exc:
            log.warning("incident_service_unreachable", error=repr(exc))
            raise Problem(
                503,
                "the incident service cannot be reached; nothing was changed, retry shortly",
                headers={"Retry-After": "5"},
            ) from exc
        if not response.is_success:
            raise RefinementRefused(response)
        return response.json()["version"]


async def apply(
    conn: asyncpg.Connection,
    incident: IncidentService,
    incident_id: str,
    item_id: int,
    caller: dict,
    authorization: str,
    now: datetime,
) -> dict[str, Any]:
    """Apply one process-refinement action item; the transaction (and the post-mortem's lock) spans the
    forwarded call, so the same item is never applied twice and a refusal leaves nothing behind."""
    async with conn.transaction():
        await writable(conn, incident_id, caller, APPLY)
        item = await records.action_item(conn, incident_id, item_id)
        if item is None:
            raise Problem(404, f"post-mortem {incident_id!r} has no action item {item_id}")
        if item["kind"] != "process_refinement":
            raise Problem(
                409,
                f"action item {item_id} is a {item['kind']} item: only a process refinement changes the process",
                rule="R17",
            )
        if item["applied_version"] is not None:
            raise Problem(
                409, f"action item {item_id} was already applied: process version {item['applied_version']}", rule="R17"
            )
        version = await incident.refine(authorization, incident_id, item_id, item["change"])
        applied = await records.mark_applied(conn, incident_id, item_id, version, caller["id"], now)
    names = await readmodel.names(conn, {applied["owner"]})
    return {"process_version": version, "action_item": {**applied, "owner_name": names.get(applied["owner"])}}
