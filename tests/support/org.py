"""A small organisation on a running incident service, and an incident with every role filled."""

from dataclasses import dataclass, field

from tests.support.incident import auth, register

NAMES = ("Sam", "Tess", "Mia", "Wes", "Olga", "Prue", "Pat", "Cato")


@dataclass
class Org:
    client: object
    people: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, token)

    def id(self, name: str) -> str:
        return self.people[name][0]

    def as_(self, name: str) -> dict[str, str]:
        return auth(self.people[name][1])

    async def post(self, name: str, path: str, body: dict | None = None, **kwargs):
        return await self.client.post(path, json=body, headers=self.as_(name), **kwargs)

    async def declare(self, by: str = "Pat", **body):
        payload = {"title": "Checkout down", "description": "500s", "aspect": "servers", "severity": 1, **body}
        response = await self.post(by, "/v1/incidents", payload)
        assert response.status_code == 201, response.text
        return response.json()

    async def staffed(self) -> dict:
        """Mia (named) manages; Sam and Tess are SMEs; Wes works; Olga observes; Prue is PR manager;
        Pat has no role. Each holds exactly one role."""
        incident = await self.declare(manager=self.id("Mia"))
        base = f"/v1/incidents/{incident['id']}"
        for path, person in (("workers", "Wes"), ("observers", "Olga")):
            assert (await self.post("Mia", f"{base}/{path}", {"person": self.id(person)})).status_code == 200
        response = await self.client.put(
            f"{base}/pr-manager", json={"person": self.id("Prue")}, headers=self.as_("Mia")
        )
        assert response.status_code == 200, response.text
        return response.json()


async def organisation(client, catch_all: str | None = None) -> Org:
    org = Org(client)
    for name in NAMES:
        org.people[name] = await register(client, name)
    org.people["Admin"] = ("", client.headers["Authorization"].split()[1])
    response = await client.put("/v1/directory/aspects/servers", json={"smes": [org.id("Sam"), org.id("Tess")]})
    assert response.status_code == 200, response.text
    if catch_all:
        process = (await client.get("/v1/process")).json()
        process["catch_all_sme"] = org.id(catch_all)
        assert (await client.put("/v1/process", json=process)).status_code == 200
    return org
