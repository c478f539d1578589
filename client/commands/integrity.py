"""`warroom verify`: whether an incident's history is the one recorded (S8), asked of the service and checked here
from its export, or checked offline on an export kept earlier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from client import integrity
from client.commands.common import session
from client.session import Session, Usage

BROKEN = 1


def verify(
    ctx: typer.Context,
    incident_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="The incident to check.")] = None,
    file: Annotated[
        Path | None, typer.Option(help="An exported history (JSON lines) to check offline, without the service.")
    ] = None,
) -> None:
    """Check an incident's history is intact (its hash chain): exit 0 intact, 1 broken (naming the event)."""
    run = session(ctx)
    if (incident_id is None) == (file is None):
        raise Usage("give an incident's ID, or --file with an exported history (not both)")
    if file is not None:
        _offline(run, file)
    else:
        assert incident_id is not None
        _online(run, run.incident(incident_id))


def _offline(run: Session, file: Path) -> None:
    try:
        with file.open(encoding="utf-8") as lines:
            checked = integrity.check(lines)
    except (OSError, UnicodeDecodeError) as error:
        raise Usage(f"cannot read {file}: {error}") from None
    if checked.events == 0 and checked.broken_at is None:
        raise Usage(f"{file} holds no event: export one with `warroom --json …` or GET …/events as JSON lines")
    _said(run, checked.as_json(), checked, f"{file}")


def _online(run: Session, incident_id: str) -> None:
    """The service's own check, then the export checked here: both must find it intact, ending alike."""
    incidents = run.warroom.incidents
    service = incidents.integrity(incident_id)  # first: the export read after it holds at least as many events
    checked = integrity.check(incidents.export(incident_id).splitlines())
    answer: dict[str, Any] = {**service, "export": checked.as_json()}
    if not service["intact"]:
        answer["why"] = "the service's check of its store found it broken"
    elif checked.broken_at is not None:
        answer.update(intact=False, broken_at=checked.broken_at, why=f"the export: {checked.why}")
    elif checked.events < service["events"]:
        answer.update(intact=False, broken_at=checked.events + 1, why="the export lacks events the service checked")
    elif checked.heads[service["events"] - 1] != service["head"]:
        why = "the export's chain does not end where the service's check does"
        answer.update(intact=False, broken_at=service["events"], why=why)
    _said(run, answer, checked, f"incident {incident_id}")


def _said(run: Session, answer: dict[str, Any], checked: integrity.Checked, what: str) -> None:
    def text() -> None:
        if answer["intact"]:
            run.out.print(f"[green]✓[/] {escape(what)}: intact, {answer['events']} events, head {answer['head']}")
        else:
            where = f" (line {checked.line})" if checked.line and answer.get("broken_at") == checked.broken_at else ""
            run.err.print(f"broken at sequence {answer['broken_at']}{where}: {escape(what)}")
            run.err.print(f"  {escape(answer.get('why') or checked.why)}")

    run.emit(answer, text)
    if not answer["intact"]:
        raise typer.Exit(BROKEN)
