"""People as a form names them: by email, by "Name <email>" (what the suggestions offer), by name when
only one active person has it, or by id. A name that fits nobody, or several, is refused with the
people it could mean, so the person at the keyboard can choose."""

import time
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from services.incident import people_list
from services.incident.application import IncidentApplication
from services.incident.errors import Invalid, NotFound

# Suggestions offered in a form (the browser narrows them as one types); beyond, typing an email works.
SUGGESTED = 500
CHOICES_SECONDS = 5.0
_choices: dict[int, tuple[float, list[dict[str, Any]]]] = {}  # id(pool) -> (read at, people)


def _refused(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[{"field": field, "message": message}])


async def choices(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Active people, by name, for a form's suggestions: read at most every CHOICES_SECONDS (every page with
    a form offers them; someone registered a moment ago can be typed by email meanwhile)."""
    kept = _choices.get(id(pool))
    if kept is None or kept[0] < time.monotonic() - CHOICES_SECONDS:
        people, _ = await people_list.page(pool, people_list.Query(limit=SUGGESTED))
        kept = _choices[id(pool)] = (time.monotonic(), people)
    return kept[1]


async def _matching(pool: asyncpg.Pool, text: str) -> list[dict[str, Any]]:
    people, _ = await people_list.page(pool, people_list.Query(q=text, limit=20))
    return people


async def resolve(pool: asyncpg.Pool, app: IncidentApplication, text: str, field: str) -> str:
    """The id of the active person ``text`` names, or Invalid naming ``field`` and who it could be."""
    text = text.strip()
    if not text:
        raise _refused(field, f"{field}: choose a person (type a name or an email)")
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1].strip()
    if _is_id(text):
        try:
            person = await run_in_threadpool(app.people.person, text)
            return str(person.id)
        except NotFound:
            raise _refused(field, f"{field}: nobody has the id {text}") from None
    found = await _matching(pool, text)
    key = text.casefold()
    exact = [p for p in found if p["email"].casefold() == key] or [p for p in found if p["name"].casefold() == key]
    if len(exact) == 1:
        return str(exact[0]["id"])
    if len(exact) > 1:
        listed = ", ".join(p["email"] for p in exact)
        raise _refused(field, f"{field}: several people are called {text}; choose one by email: {listed}")
    nearest = ", ".join(f"{p['name']} <{p['email']}>" for p in found[:5])
    hint = f"; did you mean {nearest}?" if nearest else ""
    raise _refused(field, f"{field}: nobody active is called or has the email “{text}”{hint}")


def _is_id(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


async def active_with_email(app: FastAPI, address: str) -> dict[str, Any] | None:
    """The active person with this email address (case aside), or None."""
    if "@" not in address or len(address) > 254:
        return None
    for person in await _matching(app.state.pool, address):
        if person["email"].casefold() == address.casefold():
            return person
    return None
