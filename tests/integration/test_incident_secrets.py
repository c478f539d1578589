"""S11: no API token at rest in plaintext — not in any table (idempotency records included), log or event."""

import json

import asyncpg

from tests.support.incident import PERSON, auth, eventually, incident_service
from tests.support.streams import stream_events


async def _tables_holding(database_url: str, secret: str) -> tuple[list[str], int]:
    """Every base table of every schema whose rows show ``secret``, as text or as bytes (bytea is shown
    in hex); and how many tables were searched."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        holding = []
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            if await conn.fetchval(
                f"SELECT count(*) FROM {name} AS t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0",
                secret,
                secret.encode().hex(),
            ):
                holding.append(name)
        return holding, len(tables)
    finally:
        await conn.close()


async def test_s11_no_token_is_stored_in_plaintext_in_any_table(database_url, nats_url, capsys, caplog):
    async with incident_service(database_url, nats_url, log_level="debug") as (client, app):
        person = (await client.post("/v1/people", json=PERSON)).json()["id"]
        plain = await client.post("/v1/tokens", json={"person_id": person})
        keyed = {"Idempotency-Key": "issue-ada-1"}
        first = await client.post("/v1/tokens", json={"person_id": person}, headers=keyed)
        retried = await client.post("/v1/tokens", json={"person_id": person}, headers=keyed)
        assert plain.status_code == first.status_code == retried.status_code == 201, retried.text
        issued = [plain.json()["token"], first.json()["token"]]
        for secret in issued:  # both are live tokens, shown in the first answer only
            assert (await client.get(f"/v1/people/{person}", headers=auth(secret))).status_code == 200

        # The retry: the same token, its secret withheld, saying what to do.
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert retried.json()["id"] == first.json()["id"] and retried.json()["token"] is None
        assert "revoke" in retried.json()["detail"] and first.json()["id"] in retried.json()["detail"]
        assert (
            await app.state.pool.fetchval(  # the key's record exists, without the secret
                "SELECT count(*) FROM idempotency_keys WHERE key = 'issue-ada-1' AND status = 201"
            )
            == 1
        )

        async def published() -> list:
            events = await stream_events(nats_url, "WARROOM_INCIDENT")
            issued_ids = {e.subject for e in events if e.type == "warroom.token.issued.v1"}
            return events if {plain.json()["id"], first.json()["id"]} <= issued_ids else None

        events = await eventually(published)

    logged = capsys.readouterr()
    for secret in issued:
        holding, searched = await _tables_holding(database_url, secret)
        assert searched >= 10 and holding == [], holding
        assert not [e.type for e in events if secret in json.dumps(e.model_dump(mode="json"))]
        assert secret not in logged.out and secret not in logged.err and secret not in caplog.text
