"""Who is who: the SME directory, the people, and signing this command line in."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from client import config
from client.commands.common import session
from client.errors import ApiProblem, ServiceUnreachable
from client.http import Transport
from client.session import Usage
from client.shapes import Person


def whois(
    ctx: typer.Context,
    aspect: Annotated[str, typer.Argument(help="What it is about, as the directory names it (e.g. servers).")],
) -> None:
    """Who to call about ASPECT: its SMEs, in the order they are paged."""
    run = session(ctx)
    entry = run.warroom.directory.aspect(aspect)

    def text() -> None:
        if not entry["smes"]:
            run.out.print(f"Nobody is the SME for {escape(aspect)}: an incident about it pages the catch-all.")
            return
        run.out.print(f"[bold]{escape(aspect)}[/]: call them in this order")
        table = Table.grid(padding=(0, 2))
        for rank, person_id in enumerate(entry["smes"], 1):
            try:
                person = run.warroom.people.get(person_id)
            except ApiProblem:
                table.add_row(f"{rank}.", person_id, "", "")
                continue
            table.add_row(
                f"{rank}.", escape(person["name"]), escape(person["email"]), escape(person.get("phone") or "")
            )
        run.out.print(table)

    run.emit(entry, text)


def people(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="Part of a name or email.")] = None,
    group: Annotated[str | None, typer.Option(help="Only members of this group.")] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Deactivated people instead.")] = False,
) -> None:
    """The people Warroom knows, found by part of their name or email."""
    run = session(ctx)
    found: list[Person] = []
    page = run.warroom.people.page(q=query, group=group, active=not inactive)
    found += page["people"]
    while page["next"] and len(found) < 1000:
        page = run.warroom.people.page(q=query, group=group, active=not inactive, cursor=page["next"])
        found += page["people"]

    def text() -> None:
        if not found:
            run.out.print("Nobody found.")
            return
        grouped = any(person.get("groups") for person in found)
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("NAME", "EMAIL", *(("GROUPS",) if grouped else ()), "ID"):
            table.add_column(column, no_wrap=column != "GROUPS")
        for person in found:
            admin = " [dim](admin)[/]" if person.get("admin") else ""
            groups = (escape(", ".join(person.get("groups") or [])),) if grouped else ()
            table.add_row(escape(person["name"]) + admin, escape(person["email"]), *groups, person["id"])
        run.out.print(table)

    run.emit({"people": found}, text)


def _token(given: str | None) -> str:
    if given:
        return given
    if sys.stdin.isatty():
        return str(typer.prompt("Your Warroom API token", hide_input=True)).strip()
    piped = sys.stdin.readline().strip()  # `warroom login < token-file`: the token never in argv or history
    if not piped:
        raise Usage("no token: give --token, pipe it on stdin, or run on a terminal to be asked for it")
    return piped


def login(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="The incident service (default http://127.0.0.1:8080).")] = None,
    token: Annotated[str | None, typer.Option(help="Your API token (asked for, hidden, when not given).")] = None,
    notifier_url: Annotated[str | None, typer.Option(help="The notifier (default: port 8081 of --url's host).")] = None,
    timers_url: Annotated[str | None, typer.Option(help="The timers (default: port 8082).")] = None,
    postmortem_url: Annotated[str | None, typer.Option(help="The post-mortem service (default: port 8083).")] = None,
    check: Annotated[bool, typer.Option(help="Try the token on the incident service before storing it.")] = True,
) -> None:
    """Store where Warroom is and your token in your configuration folder (readable by you only)."""
    run = session(ctx)
    secret = _token(token)
    target = (url or config.load().url).rstrip("/")
    if check:
        try:
            Transport(target, secret, "incident").request("GET", "/v1/incidents", params={"limit": 1})
        except ApiProblem as problem:
            if problem.status == 401:
                refusal = f"the incident service at {target} does not accept this token; nothing was stored"
                raise ApiProblem(401, problem.title, refusal) from None
            raise
        except ServiceUnreachable as unreachable:
            run.err.print(f"[yellow]! Not checked: {escape(str(unreachable))}. Stored anyway.[/]")
    values = {
        config.URL: url or "",
        config.TOKEN: secret,
        config.NOTIFIER_URL: notifier_url or "",
        config.TIMERS_URL: timers_url or "",
        config.POSTMORTEM_URL: postmortem_url or "",
    }
    path = config.save(values)
    overridden = [name for name in config.NAMES if name in os.environ]
    run.out.print(f"[green]✓[/] Signed in to {escape(target)}; stored in {escape(str(path))} (readable by you only).")
    if overridden:
        run.out.print(f"[yellow]! Set in your environment, which wins over the file: {', '.join(overridden)}[/]")
