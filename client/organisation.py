"""The incident service's organisation: people and their tokens, the SME directory, the process."""

from __future__ import annotations

from typing import Any, cast

from client.http import Transport
from client.shapes import Aspect, Deactivated, IssuedToken, PeoplePage, Person, Process, Token, TokenPage


class People:
    def __init__(self, transport: Transport):
        self.transport = transport

    def page(
        self,
        *,
        q: str | None = None,
        group: str | None = None,
        active: bool | None = None,
        cursor: str | None = None,
    ) -> PeoplePage:
        """``q``: a case-insensitive part of the name or email; only active people unless ``active=False``."""
        flag = None if active is None else str(active).lower()
        params = {"q": q, "group": group, "active": flag, "cursor": cursor}
        return cast(PeoplePage, self.transport.json("GET", "/v1/people", params=params))

    def get(self, person_id: str) -> Person:
        return cast(Person, self.transport.json("GET", f"/v1/people/{person_id}"))

    def register(self, person: dict[str, Any]) -> Person:
        """Admin: ``{name, email, timezone, working_hours, ...}``."""
        return cast(Person, self.transport.json("POST", "/v1/people", json=person))

    def update(self, person_id: str, patch: dict[str, Any]) -> Person:
        """A JSON merge patch: admins, or the person for their own contact details and hours."""
        response = self.transport.request(
            "PATCH", f"/v1/people/{person_id}", json=patch, headers={"Content-Type": "application/merge-patch+json"}
        )
        return cast(Person, response.json())

    def deactivate(self, person_id: str) -> Deactivated:
        """Admin: tokens revoked, taken out of the directory and groups (with coverage warnings); 409 while
        they manage an open incident."""
        return cast(Deactivated, self.transport.json("POST", f"/v1/people/{person_id}/deactivate"))

    def activate(self, person_id: str) -> Person:
        return cast(Person, self.transport.json("POST", f"/v1/people/{person_id}/activate"))

    def issue_token(self, person_id: str, *, label: str | None = None, expires_at: str | None = None) -> IssuedToken:
        """Admin: the secret is in this answer only; ``expires_at`` ISO 8601 with a timezone."""
        body = {"person_id": person_id, "label": label, "expires_at": expires_at}
        sent = {name: value for name, value in body.items() if value is not None}
        return cast(IssuedToken, self.transport.json("POST", "/v1/tokens", json=sent))

    def tokens(self, person_id: str, *, cursor: str | None = None) -> TokenPage:
        """An admin, or the person: their tokens, newest first (never a secret)."""
        path = f"/v1/people/{person_id}/tokens"
        return cast(TokenPage, self.transport.json("GET", path, params={"cursor": cursor}))

    def set_token_expiry(self, token_id: str, expires_at: str) -> Token:
        path = f"/v1/tokens/{token_id}"
        return cast(Token, self.transport.json("PATCH", path, json={"expires_at": expires_at}))

    def revoke_token(self, token_id: str) -> None:
        """An admin, or the token's person (a lost token): it stops working at once."""
        self.transport.request("DELETE", f"/v1/tokens/{token_id}")


class Directory:
    """Who to call about what (R10)."""

    def __init__(self, transport: Transport):
        self.transport = transport

    def aspects(self) -> list[Aspect]:
        return cast(list[Aspect], self.transport.json("GET", "/v1/directory/aspects")["aspects"])

    def aspect(self, aspect: str) -> Aspect:
        return cast(Aspect, self.transport.json("GET", f"/v1/directory/aspects/{aspect}"))

    def set_aspect(self, aspect: str, smes: list[str]) -> Aspect:
        return cast(Aspect, self.transport.json("PUT", f"/v1/directory/aspects/{aspect}", json={"smes": smes}))

    def coverage(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.transport.json("GET", "/v1/directory/coverage"))


class Processes:
    """The process document: tools edit it by get-modify-put."""

    def __init__(self, transport: Transport):
        self.transport = transport

    def get(self, version: int | None = None) -> Process:
        return cast(Process, self.transport.json("GET", "/v1/process", params={"version": version}))

    def publish(self, document: Process) -> Process:
        return cast(Process, self.transport.json("PUT", "/v1/process", json=document))

    def apply_refinement(self, postmortem: str, action_item: int, change: dict[str, Any]) -> Process:
        body = {"postmortem": postmortem, "action_item": action_item, "change": change}
        return cast(Process, self.transport.json("POST", "/v1/process/refinements", json=body))
