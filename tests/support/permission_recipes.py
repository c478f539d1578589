"""How S2's matrix calls each route of the incident service for each action it performs: on what, with
which body. Who may is not said here (shared/permissions.py's table is); a route without its recipe
fails its cell.

Bodies name people by their names in tests/support/org.py (Mia manages, Wes works, Tess is an SME, Olga
observes, Prue is the PR manager, Pat has no role, Cato is who gets added); they become ids."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats

from shared.contract import Envelope
from tests.support.permission_matrix import Target
from tests.support.permission_world import World, in_days

SSE = "text/event-stream"
INCIDENT = "/v1/incidents/{incident_id}"


@dataclass(frozen=True)
class Recipe:
    state: str | None = None  # the incident acted on: "open", "offered" or "resolved" (permission_world.py)
    body: Any = None  # JSON, or a function of (world, target) making it
    params: dict[str, str] = field(default_factory=dict)  # path parameters beyond the target's own
    about: str | None = None  # the person asked about: a name, "fresh" or "deactivated" (someone new)
    token: bool = False  # acts on a spare token of the person asked about
    changes: bool = True  # an allowed call changes what it acts on: each gets its own
    accept: str | None = None
    form: bool = False  # the body is the acknowledge link's HTML form
    prepare: Callable[[World, Target], Awaitable[None]] | None = None


async def refinement_item(world: World, target: Target) -> None:
    """A process-refinement action item on the target incident's post-mortem, as the post-mortem service
    publishes it; its change is new each time, so applying it always changes the process."""
    assert target.incident is not None
    change = {"worker_fresh_for": f"PT{601 + next(world.serial)}M"}
    data = {"incident_id": target.incident["id"], "item_id": 1, "kind": "process_refinement", "title": "fresher"}
    data |= {"owner": world.org.id("Mia"), "by": world.org.id("Mia"), "change": change}
    subject = data["incident_id"]
    event = Envelope(
        id=str(uuid.uuid4()),
        source="warroom/postmortem",
        type="warroom.postmortem.action_item_added.v1",
        subject=subject,
        time=datetime.now(UTC),
        data=data,
        sequence=1,
        position=1,
    )
    nc = await nats.connect(world.nats_url)
    try:
        await nc.jetstream().publish(event.type, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    finally:
        await nc.close()
    target.made["body"] = {"postmortem": subject, "action_item": 1, "change": change}


def _on(path: str) -> str:
    return INCIDENT + path


_FIRING = {
    "status": "firing",
    "labels": {"alertname": "CheckoutErrors", "service": "checkout"},
    "annotations": {"summary": "Checkout answers 500"},
    "startsAt": "2026-03-02T09:12:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus.example.com/graph",
    "fingerprint": "s2-matrix-checkout",
}
# Alertmanager's webhook body (version 4); sent again it changes nothing, and is answered the same.
_ALERTS = {
    "version": "4",
    "groupKey": '{}:{alertname="CheckoutErrors"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "warroom",
    "groupLabels": {"alertname": "CheckoutErrors"},
    "commonLabels": {},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.com",
    "alerts": [_FIRING],
}
_UPDATE = {"learned": "a", "tried": "b", "outcome": "c", "working_on": "d", "remaining": "e"}

RECIPES: dict[tuple[str, str, str], Recipe] = {
    ("POST", "/v1/people", "configure"): Recipe(body=lambda world, target: world.new_person()),
    ("GET", "/v1/people", "read_people"): Recipe(changes=False),
    ("GET", "/v1/people/{person_id}", "read_people"): Recipe(about="Pat", changes=False),
    ("PATCH", "/v1/people/{person_id}", "edit_own_person"): Recipe(about="Pat", body={"phone": "+44 20 7946 0958"}),
    ("PATCH", "/v1/people/{person_id}", "edit_person"): Recipe(
        about="Pat", body=lambda world, target: {"name": world.unique("Pat")}
    ),
    ("POST", "/v1/people/{person_id}/deactivate", "deactivate_person"): Recipe(about="fresh"),
    ("POST", "/v1/people/{person_id}/activate", "activate_person"): Recipe(about="deactivated"),
    ("POST", "/v1/tokens", "configure"): Recipe(body={"person_id": "Cato"}),
    ("GET", "/v1/people/{person_id}/tokens", "manage_own_tokens"): Recipe(about="Pat", changes=False),
    ("PATCH", "/v1/tokens/{token_id}", "manage_own_tokens"): Recipe(
        about="Pat", token=True, body=lambda world, target: {"expires_at": in_days(5)}
    ),
    ("PATCH", "/v1/tokens/{token_id}", "extend_token"): Recipe(
        about="Pat", token=True, body=lambda world, target: {"expires_at": in_days(20)}
    ),
    ("DELETE", "/v1/tokens/{token_id}", "manage_own_tokens"): Recipe(about="Pat", token=True),
    ("GET", "/v1/process", "read"): Recipe(changes=False),
    ("PUT", "/v1/process", "configure"): Recipe(body=lambda world, target: world.process),
    ("GET", "/v1/directory/aspects", "read"): Recipe(changes=False),
    ("GET", "/v1/directory/aspects/{aspect}", "read"): Recipe(changes=False),
    ("PUT", "/v1/directory/aspects/{aspect}", "configure"): Recipe(
        params={"aspect": "billing"}, body={"smes": ["Cato"]}
    ),
    ("GET", "/v1/directory/coverage", "read"): Recipe(changes=False),
    ("POST", "/v1/reports", "file_report"): Recipe(body={"title": "Search is slow", "aspect": "servers"}),
    ("POST", "/v1/process/refinements", "apply_refinement"): Recipe(
        state="open", prepare=refinement_item, body=lambda world, target: target.made["body"]
    ),
    ("POST", "/v1/integrations/alertmanager", "receive_alerts"): Recipe(body=_ALERTS),
    ("POST", "/v1/incidents", "declare"): Recipe(body={"title": "Checkout down", "aspect": "servers", "severity": 2}),
    ("GET", "/v1/incidents", "read"): Recipe(changes=False),
    ("GET", INCIDENT, "read"): Recipe(state="open", changes=False),
    ("GET", _on("/integrity"), "read_integrity"): Recipe(state="open", changes=False),
    ("GET", _on("/events"), "read"): Recipe(state="open", changes=False),
    ("GET", _on("/events"), "read_event_streams"): Recipe(state="open", changes=False, accept=SSE),
    ("GET", "/v1/events", "read"): Recipe(changes=False),
    ("GET", "/v1/events", "read_event_streams"): Recipe(changes=False, accept=SSE),
    ("POST", _on("/acknowledge"), "acknowledge"): Recipe(state="open"),
    ("GET", "/links/acknowledge/{value}", "acknowledge"): Recipe(state="open", changes=False),
    ("POST", "/links/acknowledge/{value}", "acknowledge"): Recipe(state="open", form=True, accept="application/json"),
    ("POST", _on("/workers"), "manage_roles"): Recipe(state="open", body={"person": "Cato"}),
    ("DELETE", _on("/workers/{person}"), "manage_roles"): Recipe(state="open", params={"person": "Wes"}),
    ("POST", _on("/smes"), "manage_roles"): Recipe(state="open", body={"person": "Cato"}),
    ("DELETE", _on("/smes/{person}"), "manage_roles"): Recipe(state="open", params={"person": "Tess"}),
    ("POST", _on("/observers"), "manage_roles"): Recipe(state="open", body={"person": "Cato"}),
    ("DELETE", _on("/observers/{person}"), "manage_roles"): Recipe(state="open", params={"person": "Olga"}),
    ("PUT", _on("/pr-manager"), "manage_roles"): Recipe(state="open", body={"person": "Cato"}),
    ("POST", _on("/handover"), "offer_handover"): Recipe(state="open", body={"to": "Cato", "briefing": "yours"}),
    ("POST", _on("/handover/accept"), "answer_handover"): Recipe(state="offered"),
    ("POST", _on("/handover/decline"), "answer_handover"): Recipe(state="offered"),
    ("POST", _on("/handover/force"), "force_handover"): Recipe(state="open", body={"to": "Cato", "reason": "away"}),
    ("POST", _on("/severity-input"), "give_severity_input"): Recipe(state="open", body={"level": 2, "comment": "calm"}),
    ("POST", _on("/severity"), "change_severity"): Recipe(state="open", body={"level": 2, "reason": "workaround"}),
    ("POST", _on("/status-requests"), "request_status"): Recipe(state="open", body={}),
    ("POST", _on("/status-updates"), "post_status_update"): Recipe(state="open", body=_UPDATE),
    ("POST", _on("/observer-briefings"), "brief_observers"): Recipe(state="open", body={"summary": "still down"}),
    ("POST", _on("/public-updates"), "post_public_update"): Recipe(state="open", body={"message": "on it"}),
    ("POST", _on("/affected-info-requests"), "request_affected_info"): Recipe(state="open", body={"question": "who?"}),
    ("POST", _on("/affected-info-reports"), "report_affected_info"): Recipe(state="open", body={"findings": "EU"}),
    ("POST", _on("/checklist/{step}/done"), "complete_checklist_step"): Recipe(state="open"),
    ("POST", _on("/resolve"), "resolve"): Recipe(state="open", body={"resolution": "fixed", "test_plan": "smoke"}),
    ("POST", _on("/reopen"), "reopen"): Recipe(state="resolved", body={"reason": "it is back"}),
}


async def target_of(world: World, recipe: Recipe, fresh: bool) -> Target:
    """What a cell acts on: shared by the refused cells, one of its own for an allowed cell that changes it."""
    incident = await world.incident(recipe.state, fresh) if recipe.state else None
    about = await world.person(recipe.about, fresh) if recipe.about else None
    params = {"aspect": "servers", "step": world.step, **{k: world.id_of(v) for k, v in recipe.params.items()}}
    if incident is not None:
        params |= {"incident_id": incident["id"], "value": world.acknowledge_link(incident)}
    if about is not None:
        params["person_id"] = about
    if recipe.token and about is not None:
        params["token_id"] = await world.spare_token(about)
    target = Target(params, incident, about)
    if recipe.prepare is not None:
        await recipe.prepare(world, target)
    return target


def body_of(world: World, recipe: Recipe, target: Target) -> Any:
    made = recipe.body(world, target) if callable(recipe.body) else recipe.body
    return world.id_of(made)
