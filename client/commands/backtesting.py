"""`warroom backtest`: what a proposed process would have done to past incidents, before anyone applies it."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from client.commands.common import session
from client.render import short_id
from client.session import Session, Usage


def backtest(
    ctx: typer.Context,
    change: Annotated[
        Path | None, typer.Option(metavar="F", help="A JSON merge patch on each incident's own process ('-': stdin).")
    ] = None,
    document: Annotated[
        Path | None, typer.Option(metavar="F", help="A whole process document, as `PUT /v1/process` takes it.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(metavar="T", help="Incidents declared from this moment on (ISO 8601).")
    ] = None,
    incident: Annotated[list[str] | None, typer.Option(metavar="ID", help="Only this incident; repeatable.")] = None,
) -> None:
    """Replay past incidents under a proposed process: the real history judged against other rules
    (the last 90 days unless --since or --incident say otherwise). Changes nothing."""
    run = session(ctx)
    if (change is None) == (document is None):
        raise Usage("give exactly one of --change (a merge patch) and --document (a whole process)")
    if since is not None and not _is_moment(since):
        raise Usage(f"--since {since!r} is not an ISO 8601 moment (like 2026-01-01T00:00:00Z)")
    proposal = _read_json(change if change is not None else document, "--change" if change else "--document")
    incidents = [run.incident(ref) for ref in incident] if incident else None
    result = run.warroom.postmortems.backtest(
        change=proposal if change is not None else None,
        document=proposal if document is not None else None,
        since=since,
        incidents=incidents,
    )
    run.emit(result, lambda: said(run, result))


def _is_moment(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _read_json(path: Path | None, option: str) -> dict[str, Any]:
    """The file's JSON object; anything else is a command line warroom cannot act on (exit 2)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(str(path)).read_text(encoding="utf-8")
    except OSError as error:
        raise Usage(f"{option} {path}: cannot be read ({error.strerror or error})") from None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise Usage(f"{option} {path}: is not JSON ({error})") from None
    if not isinstance(value, dict):
        raise Usage(f"{option} {path}: must hold a JSON object ({{…}})")
    return value


def said(run: Session, result: dict[str, Any]) -> None:
    """The back-test for people: the totals in sentences, then what differs in each incident."""
    out, summary, scope = run.out, result["summary"], result["scope"]
    since = f" declared since {scope['since']}" if scope.get("since") else ""
    listed = f" among the {len(scope['incidents'])} listed" if scope.get("incidents") else ""
    incidents = f"{summary['incidents']} incident{'' if summary['incidents'] == 1 else 's'}"
    out.print(f"[bold]Back-test of a {result['proposal']}[/] on {incidents}{escape(since)}{listed}")
    for sentence in summary["text"]:
        out.print(f"  • {escape(sentence)}")
    changed = [i for i in result["incidents"] if i["differences"]]
    if changed:
        out.print("\n[bold]What would have been judged differently[/]")
    for incident in changed:
        head = f"{short_id(incident['incident_id'])} “{incident['title']}” (version {incident['process_version']})"
        deviations = f"{incident['before']['deviations']} → {incident['after']['deviations']} deviations"
        out.print(f"  {escape(head)}: {deviations}")
        for difference in incident["differences"]:
            out.print(f"    - {escape(difference['text'])}")
    for warning in result["warnings"]:
        out.print(f"[yellow]warning:[/] {escape(warning)}")
    out.print(f"\n[dim]{escape(result['note'])}[/]")
