"""One run of the command line: its configuration, its output mode, and the look-ups people need
(names for ids, ids for emails and short incident ids), each asked of the service at most once."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from client.api import Warroom
from client.config import load
from client.errors import ApiProblem

FULL_ID = 36  # the services' ids are UUIDs
_SHORT_ID = re.compile(r"[0-9a-fA-F-]{4,35}")


class Usage(typer.BadParameter):
    """A command line warroom cannot act on (exit 2), said as a plain sentence."""

    def format_message(self) -> str:
        return self.message


class Session:
    def __init__(self, json_output: bool = False):
        self.json_output = json_output
        # soft_wrap: a line longer than the terminal wraps there, not at 80 columns in a pipe or a log.
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self._warroom: Warroom | None = None
        self._names: dict[str, str] = {}
        self._levels: dict[int, dict[int, str]] = {}

    @property
    def warroom(self) -> Warroom:
        if self._warroom is None:
            self._warroom = Warroom(load())
        return self._warroom

    def close(self) -> None:
        if self._warroom is not None:
            self._warroom.close()

    def emit(self, data: Any, text: Callable[[], None]) -> None:
        """The API's JSON with --json; otherwise ``text()`` writes it for people."""
        if self.json_output:
            self.write_json(data)
        else:
            text()

    def write_json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def name(self, person_id: str | None) -> str:
        """A person's name, or their id where the service does not say (``—`` for nobody)."""
        if not person_id:
            return "—"
        if person_id not in self._names:
            try:
                self._names[person_id] = self.warroom.people.get(person_id)["name"]
            except ApiProblem:
                self._names[person_id] = person_id[:8]
        return self._names[person_id]

    def names(self, people: list[str]) -> str:
        return ", ".join(self.name(p) for p in people) or "—"

    def level(self, process_version: int, level: int) -> str:
        """``"1 Critical"``: the level with its name in the process version the incident runs under."""
        if process_version not in self._levels:
            try:
                document = self.warroom.process.get(process_version)
                self._levels[process_version] = {lv["level"]: lv["name"] for lv in document.get("levels", [])}
            except ApiProblem:
                self._levels[process_version] = {}
        name = self._levels[process_version].get(level)
        return f"{level} {name}" if name else f"level {level}"

    def person(self, ref: str) -> str:
        """PERSON as the API takes it: an email becomes its person's id; anything else is an id."""
        if "@" not in ref:
            return ref
        try:
            found = self.warroom.people.page(q=ref)["people"]
        except ApiProblem as problem:
            if problem.status in (404, 405):
                raise Usage(f"this incident service cannot look people up by email; give {ref}'s id") from None
            raise
        matches = [p for p in found if p["email"].casefold() == ref.casefold()]
        if not matches:
            raise Usage(
                f"nobody has the email {ref} among the active people (search: warroom people {ref.split('@')[0]})"
            )
        self._names[matches[0]["id"]] = matches[0]["name"]
        return matches[0]["id"]

    def incident(self, ref: str) -> str:
        """ID as the API takes it: a unique start of an incident's id (as `warroom list` shows) becomes the id."""
        if len(ref) >= FULL_ID or not _SHORT_ID.fullmatch(ref):
            return ref
        matches: list[str] = []
        cursor: str | None = None
        for _ in range(20):  # 10,000 incidents, newest first, is far enough back for a short id
            page = self.warroom.incidents.page(cursor=cursor, limit=500)
            matches += [i["id"] for i in page["incidents"] if i["id"].lower().startswith(ref.lower())]
            if not (cursor := page["next"]):
                break
        if len(matches) > 1:
            raise Usage(
                f"{ref} is the start of {len(matches)} incidents' ids: {', '.join(matches[:5])}; give more of it"
            )
        return matches[0] if matches else ref
