"""Severity, status updates, briefings and the checklist: keeping everyone told, as the process says."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from client.commands.common import IncidentArg, confirm, session
from client.session import Usage

# A status update's five parts (R06): the body's field, the flag, and the question asked on a terminal.
PARTS = (
    ("learned", "--learned", "What have you learned?"),
    ("tried", "--tried", "What have you tried?"),
    ("outcome", "--outcome", "What was the outcome?"),
    ("working_on", "--working-on", "What are you working on now?"),
    ("remaining", "--remaining", "What remains to be done?"),
)
Level = Annotated[int, typer.Argument(metavar="LEVEL", min=1, help="A severity level: 1 is the most severe.")]


def severity(
    ctx: typer.Context,
    incident_id: IncidentArg,
    level: Level,
    reason: Annotated[str, typer.Option(help="Why the level changes.")],
    considered: Annotated[
        list[int] | None, typer.Option(metavar="SEQUENCE", help="An input considered (its event number); repeatable.")
    ] = None,
) -> None:
    """The manager changes the severity level, with a reason."""
    run = session(ctx)
    incident = run.warroom.incidents.change_severity(run.incident(incident_id), level, reason, considered or [])
    confirm(ctx, incident, f"Level is now {escape(run.level(incident['process_version'], incident['severity']))}.")


def severity_input(
    ctx: typer.Context,
    incident_id: IncidentArg,
    level: Level,
    comment: Annotated[str, typer.Option(help="Why you think so.")],
) -> None:
    """Suggest a severity level to the manager, who decides."""
    run = session(ctx)
    incident = run.warroom.incidents.give_severity_input(run.incident(incident_id), level, comment)
    confirm(ctx, incident, f"Suggested level {level} to {escape(run.name(incident['manager']))}.")


def status_request(ctx: typer.Context, incident_id: IncidentArg) -> None:
    """Ask the workers for a status update now."""
    run = session(ctx)
    incident = run.warroom.incidents.request_status(run.incident(incident_id))
    confirm(ctx, incident, f"Asked {escape(run.names(incident['workers']))} for a status update.")


def _missing_parts(given: dict[str, str | None]) -> dict[str, str]:
    """Every part: as given, or asked for on the terminal; blanks refused before the service sees them."""
    for field, flag, _ in PARTS:
        if (text := given[field]) is not None and not text.strip():
            raise Usage(f"{flag} is blank: a status update needs all five parts, each saying something (R06)")
    missing = [(field, flag, question) for field, flag, question in PARTS if given[field] is None]
    if missing and not sys.stdin.isatty():
        flags = ", ".join(flag for _, flag, _ in missing)
        raise Usage(f"missing {flags}: give every part as a flag, or run on a terminal to be asked for them")
    parts = {field: text for field, text in given.items() if text is not None}
    for field, _, question in missing:
        answer = ""
        while not answer.strip():
            answer = typer.prompt(question, default="", show_default=False)
            if not answer.strip():
                typer.echo("A status update needs this part; write what you know, even “nothing yet”.", err=True)
        parts[field] = answer.strip()
    return parts


def update(
    ctx: typer.Context,
    incident_id: IncidentArg,
    learned: Annotated[str | None, typer.Option(help="What you have learned.")] = None,
    tried: Annotated[str | None, typer.Option(help="What you have tried.")] = None,
    outcome: Annotated[str | None, typer.Option(help="What came of it.")] = None,
    working_on: Annotated[str | None, typer.Option(help="What you are working on now.")] = None,
    remaining: Annotated[str | None, typer.Option(help="What remains to be done.")] = None,
) -> None:
    """Post your status update (workers): all five parts; on a terminal, warroom asks for those not given."""
    run = session(ctx)
    given = {"learned": learned, "tried": tried, "outcome": outcome, "working_on": working_on, "remaining": remaining}
    incident_ref = run.incident(incident_id)
    parts = _missing_parts(given)
    incident = run.warroom.incidents.post_status_update(
        incident_ref,
        learned=parts["learned"],
        tried=parts["tried"],
        outcome=parts["outcome"],
        working_on=parts["working_on"],
        remaining=parts["remaining"],
    )
    confirm(ctx, incident, "Status update posted.")


def brief(
    ctx: typer.Context,
    incident_id: IncidentArg,
    summary: Annotated[str, typer.Option(help="What the observers need to know.")],
) -> None:
    """Brief the observers."""
    run = session(ctx)
    incident = run.warroom.incidents.brief_observers(run.incident(incident_id), summary)
    confirm(ctx, incident, f"Briefed {escape(run.names(incident['observers']))}.")


def public_update(
    ctx: typer.Context,
    incident_id: IncidentArg,
    message: Annotated[str, typer.Option(help="What the public is told.")],
) -> None:
    """Post a public update (the PR manager, or the manager)."""
    run = session(ctx)
    incident = run.warroom.incidents.post_public_update(run.incident(incident_id), message)
    confirm(ctx, incident, "Public update posted.")


step = typer.Typer(help="The level's checklist.", no_args_is_help=True)


@step.command("done")
def step_done(
    ctx: typer.Context,
    incident_id: IncidentArg,
    name: Annotated[str, typer.Argument(metavar="STEP", help="The step's id, as `show` lists it.")],
) -> None:
    """Mark a checklist step done (the manager)."""
    run = session(ctx)
    incident = run.warroom.incidents.complete_step(run.incident(incident_id), name)
    confirm(ctx, incident, f"Step {escape(name)} done.")
