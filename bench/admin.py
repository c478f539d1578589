"""Setting an organisation up through the incident service's admin API, as a tool would."""

from __future__ import annotations

from bench.loadclient import Connection, Response
from bench.stack import ADMIN_TOKEN

WORKING_HOURS = {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _expect(response: Response, status: int, what: str):
    if response.status != status:
        raise RuntimeError(f"{what}: expected {status}, got {response.status}: {response.body[:500]!r}")
    return response.json()


class Admin:
    """The built-in admin, on one keep-alive connection to the incident service."""

    def __init__(self, incident_url: str):
        self.http = Connection(incident_url, bearer(ADMIN_TOKEN))

    async def register(self, name: str, webhook_url: str | None = None) -> str:
        body = {"name": name, "email": f"{name.lower()}@example.com", "timezone": "UTC", "working_hours": WORKING_HOURS}
        if webhook_url:
            body["webhook_url"] = webhook_url
        return _expect(await self.http.request("POST", "/v1/people", body), 201, f"register {name}")["id"]

    async def token(self, person: str) -> str:
        response = await self.http.request("POST", "/v1/tokens", {"person_id": person})
        return _expect(response, 201, f"token for {person}")["token"]

    async def set_aspect(self, aspect: str, smes: list[str]) -> None:
        _expect(
            await self.http.request("PUT", f"/v1/directory/aspects/{aspect}", {"smes": smes}), 200, f"aspect {aspect}"
        )

    async def declare(self, title: str, aspect: str, severity: int = 1) -> dict:
        body = {"title": title, "aspect": aspect, "severity": severity}
        return _expect(await self.http.request("POST", "/v1/incidents", body), 201, f"declare {title}")

    async def close(self) -> None:
        await self.http.close()
