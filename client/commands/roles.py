"""Who works on an incident: workers, SMEs, observers, the PR manager, and handing the manager role over."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from client.commands.common import IncidentArg, PersonArg, confirm, session

# The role's path under the incident, and what a person in it is called.
MEMBERSHIPS = {"worker": ("workers", "a worker"), "sme": ("smes", "an SME"), "observer": ("observers", "an observer")}


def membership(role: str) -> typer.Typer:
    """``warroom <role> add|remove ID PERSON``."""
    path, noun = MEMBERSHIPS[role]
    group = typer.Typer(help=f"Add or remove {noun} (the manager's decision).", no_args_is_help=True)

    @group.command("add", help=f"Add PERSON as {noun}.")
    def add(ctx: typer.Context, incident_id: IncidentArg, person: PersonArg) -> None:
        run = session(ctx)
        person_id = run.person(person)
        incident = run.warroom.incidents.add_member(run.incident(incident_id), path, person_id)
        confirm(ctx, incident, f"{escape(run.name(person_id))} is {noun}.")

    @group.command("remove", help=f"Release PERSON from being {noun}.")
    def remove(ctx: typer.Context, incident_id: IncidentArg, person: PersonArg) -> None:
        run = session(ctx)
        person_id = run.person(person)
        incident = run.warroom.incidents.remove_member(run.incident(incident_id), path, person_id)
        confirm(ctx, incident, f"{escape(run.name(person_id))} is no longer {noun}.")

    return group


def pr_manager(ctx: typer.Context, incident_id: IncidentArg, person: PersonArg) -> None:
    """Make PERSON the incident's PR manager (who talks to the public)."""
    run = session(ctx)
    person_id = run.person(person)
    incident = run.warroom.incidents.assign_pr_manager(run.incident(incident_id), person_id)
    confirm(ctx, incident, f"{escape(run.name(person_id))} is PR manager.")


handover = typer.Typer(help="Hand the manager role over: offer, accept, decline, or (admins) force.")


@handover.command("offer")
def offer(
    ctx: typer.Context,
    incident_id: IncidentArg,
    person: PersonArg,
    briefing: Annotated[str, typer.Option(help="What the next manager needs to know.")],
) -> None:
    """Offer the manager role to PERSON; you stay in charge until they accept."""
    run = session(ctx)
    person_id = run.person(person)
    incident = run.warroom.incidents.offer_handover(run.incident(incident_id), person_id, briefing)
    confirm(ctx, incident, f"Offered the manager role to {escape(run.name(person_id))}; you manage until they accept.")


@handover.command("accept")
def accept(ctx: typer.Context, incident_id: IncidentArg) -> None:
    """Accept the manager role offered to you."""
    run = session(ctx)
    incident = run.warroom.incidents.accept_handover(run.incident(incident_id))
    confirm(ctx, incident, "You manage it now.")


@handover.command("decline")
def decline(ctx: typer.Context, incident_id: IncidentArg) -> None:
    """Decline the manager role offered to you."""
    run = session(ctx)
    incident = run.warroom.incidents.decline_handover(run.incident(incident_id))
    confirm(ctx, incident, f"Declined; {escape(run.name(incident['manager']))} still manages it.")


@handover.command("force")
def force(
    ctx: typer.Context,
    incident_id: IncidentArg,
    person: PersonArg,
    reason: Annotated[str, typer.Option(help="Why the handover cannot wait for the manager.")],
) -> None:
    """Admins: make PERSON the manager at once."""
    run = session(ctx)
    person_id = run.person(person)
    incident = run.warroom.incidents.force_handover(run.incident(incident_id), person_id, reason)
    confirm(ctx, incident, f"{escape(run.name(person_id))} manages it now.")
