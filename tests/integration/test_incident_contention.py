"""F9, made exact (§5): no command is refused because of contention inside the incident service.

Many commands at once on one person's time records (tenure R05, load R19) all apply, in one replica
and across two; a command that lost a race on its incident is loaded and checked again, applied if
its rule still holds and refused only by the rule; with a stale If-Match it is 412.
"""

import asyncio
import threading

import httpx
import pytest

from services.incident.application import IncidentApplication
from services.incident.errors import Conflict
from services.incident.incidents import Stale
from services.incident.policy import Actor
from services.incident.store_env import event_store_env
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, event_store, incident_service, register
from tests.support.processes import ServiceProcess

DECLARATION = {"title": "Checkout failing", "description": "payments answer 500", "aspect": "servers", "severity": 2}


async def _sme_of_servers(client) -> tuple[str, str]:
    sam = await register(client, "Sam")
    response = await client.put("/v1/directory/aspects/servers", json={"smes": [sam[0]]})
    assert response.status_code == 200, response.text
    return sam


async def _declare_at_once(clients: list[httpx.AsyncClient], count: int) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(clients[n % len(clients)].post("/v1/incidents", json=DECLARATION) for n in range(count)))
    )


async def _all_in_one_tenure(client, answers: list[httpx.Response], sam: str) -> None:
    """Every declaration was answered 201 with Sam managing, and each continued one tenure (R05)."""
    assert [a.status_code for a in answers] == [201] * len(answers), [a.text for a in answers if a.status_code != 201]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == len(answers)
    states = [(await client.get(f"/v1/incidents/{incident}")).json() for incident in ids]
    assert {s["manager"] for s in states} == {sam} and {s["version"] for s in states} == {1}
    assert len({s["due"]["shift_limit_at"] for s in states}) == 1, "one tenure, one shift limit"


async def _commands_on_one_managers_incidents(
    clients: list[httpx.AsyncClient], sam_token: str, wes: str, tess: str
) -> None:
    """32 incidents of Sam's; at once, Wes is added to half (Wes's load) and the other half are handed to
    Tess by force (Sam's and Tess's tenure): every command applies."""
    declared = await _declare_at_once(clients, 32)
    ids = [a.json()["id"] for a in declared]
    commands = [
        clients[n % len(clients)].post(
            f"/v1/incidents/{incident}/workers", json={"person": wes}, headers=auth(sam_token)
        )
        for n, incident in enumerate(ids[:16])
    ]
    commands += [
        clients[n % len(clients)].post(
            f"/v1/incidents/{incident}/handover/force", json={"to": tess, "reason": "Sam is unreachable"}
        )
        for n, incident in enumerate(ids[16:])
    ]
    answers = await asyncio.gather(*commands)
    assert [a.status_code for a in answers] == [200] * 32, [a.text for a in answers if a.status_code != 200]
    states = [(await clients[0].get(f"/v1/incidents/{incident}")).json() for incident in ids]
    assert all(s["workers"] == [wes] and s["version"] == 2 for s in states[:16])
    assert all(s["manager"] == tess and s["version"] == 2 for s in states[16:])
    assert len({s["due"]["shift_limit_at"] for s in states[16:]}) == 1, "Tess's one tenure"


async def test_f9_64_concurrent_declarations_for_one_aspect_all_succeed(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        sam, _token = await _sme_of_servers(client)
        await _all_in_one_tenure(client, await _declare_at_once([client], 64), sam)


async def test_f9_32_concurrent_commands_on_different_incidents_of_one_manager_all_succeed(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        sam, sam_token = await _sme_of_servers(client)
        wes, tess = (await register(client, "Wes"))[0], (await register(client, "Tess"))[0]
        await _commands_on_one_managers_incidents([client], sam_token, wes, tess)


@pytest.fixture
async def two_replicas(database_url, nats_url, tmp_path):
    """Two incident service processes on one database, started together as a rollout would."""
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_RATE_LIMIT_PER_SECOND": "100000",
        "WARROOM_RATE_LIMIT_BURST": "100000",
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_LOG_LEVEL": "warning",
    }
    replicas = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        replicas.append(ServiceProcess("incident", env, tmp_path / name))
    try:
        await asyncio.gather(*(asyncio.to_thread(replica.start, 60) for replica in replicas))
        clients = [
            httpx.AsyncClient(
                base_url=replica.url, headers=auth(ADMIN_TOKEN), timeout=60, limits=httpx.Limits(max_connections=64)
            )
            for replica in replicas
        ]
        try:
            yield clients
        finally:
            for client in clients:
                await client.aclose()
    finally:
        for replica in replicas:
            replica.stop()


async def test_f9_64_concurrent_declarations_for_one_aspect_across_two_replicas_all_succeed(two_replicas):
    sam, _token = await _sme_of_servers(two_replicas[0])
    await _all_in_one_tenure(two_replicas[0], await _declare_at_once(two_replicas, 64), sam)


async def test_f9_32_concurrent_commands_of_one_manager_across_two_replicas_all_succeed(two_replicas):
    client = two_replicas[0]
    sam, sam_token = await _sme_of_servers(client)
    wes, tess = (await register(client, "Wes"))[0], (await register(client, "Tess"))[0]
    await _commands_on_one_managers_incidents(two_replicas, sam_token, wes, tess)


# --- a lost race, exactly: two replicas in this process, one command held until the other saved ---


class Race:
    """Runs ``loser``'s command on one replica so that it loads the incident, then waits until ``winner``
    (on the other replica) has saved, then saves: it loses the race once. Counts the loser's checks."""

    def __init__(self, loser_app: IncidentApplication, winner_app: IncidentApplication):
        self.loser_app, self.winner_app = loser_app, winner_app
        self.checks = 0

    def run(self, incident: str, loser, winner, expected_version: int | None = None):
        loaded, saved = threading.Event(), threading.Event()

        def held(i, ctx):
            self.checks += 1
            loaded.set()
            saved.wait(10)
            return loser(i, ctx)

        outcome = {}

        def lose():
            try:
                outcome["incident"] = self.loser_app.incidents.command(incident, expected_version, self.actor, held)
            except Exception as exc:  # noqa: BLE001 — the outcome is what the test reads
                outcome["refused"] = exc

        thread = threading.Thread(target=lose)
        thread.start()
        assert loaded.wait(10)
        self.winner_app.incidents.command(incident, None, self.winner_actor, winner)
        saved.set()
        thread.join(20)
        return outcome


@pytest.fixture
async def race(database_url):
    async with event_store(database_url) as (first, admin):
        second = IncidentApplication(event_store_env(database_url))
        try:
            race = Race(first, second)
            race.actor = race.winner_actor = admin
            yield race
        finally:
            second.close()


def _declare(app: IncidentApplication, admin: Actor) -> str:
    return str(app.incidents.declare("Checkout failing", "payments answer 500", "servers", 2, None, admin).id)


def _people(app: IncidentApplication, admin: Actor, *names: str) -> list[str]:
    return [
        str(
            app.people.register_person(
                {
                    **PERSON,
                    "name": name,
                    "email": f"{name.lower()}@example.com",
                    "phone": None,
                    "groups": [],
                    "waking_hours": None,
                    "webhook_url": None,
                    "admin": False,
                },
                admin,
            ).id
        )
        for name in names
    ]


def test_f9_a_command_that_lost_a_race_is_checked_again_on_the_new_state_and_applied(race):
    incident = _declare(race.loser_app, race.actor)
    wes, tess = _people(race.loser_app, race.actor, "Wes", "Tess")
    outcome = race.run(
        incident, lambda i, ctx: i.add_worker(wes, 0, True, ctx), lambda i, ctx: i.add_worker(tess, 0, True, ctx)
    )
    assert "refused" not in outcome, outcome
    assert race.checks == 2, "loaded and checked again after losing"
    after = race.winner_app.incidents.incident(incident)
    assert after.version == 3 and after.workers == [tess, wes]


def test_f9_a_command_that_lost_a_race_is_409_only_when_its_rule_now_fails(race):
    incident = _declare(race.loser_app, race.actor)
    (wes,) = _people(race.loser_app, race.actor, "Wes")
    # Both add Wes: the loser's rule (R01, already a worker) now fails.
    outcome = race.run(
        incident, lambda i, ctx: i.add_worker(wes, 0, True, ctx), lambda i, ctx: i.add_worker(wes, 0, True, ctx)
    )
    assert isinstance(outcome.get("refused"), Conflict) and outcome["refused"].status == 409, outcome
    assert race.checks == 2
    after = race.winner_app.incidents.incident(incident)
    assert after.version == 2 and after.workers == [wes]


def test_f9_a_command_with_a_stale_if_match_is_412_and_changes_nothing(race):
    incident = _declare(race.loser_app, race.actor)
    wes, tess = _people(race.loser_app, race.actor, "Wes", "Tess")
    outcome = race.run(
        incident,
        lambda i, ctx: i.add_worker(wes, 0, True, ctx),
        lambda i, ctx: i.add_worker(tess, 0, True, ctx),
        expected_version=1,
    )
    assert isinstance(outcome.get("refused"), Stale) and outcome["refused"].status == 412, outcome
    after = race.winner_app.incidents.incident(incident)
    assert after.version == 2 and after.workers == [tess]


async def test_a_declaration_reads_its_managers_tenure_from_the_store_once(database_url):
    """The turn's command reads the manager's tenure once for its start and its change (timekeeping.py): every
    store read inside the person's turn lengthens the turn all declarations for one aspect queue for (P2b)."""
    from services.incident import tenure

    async with event_store(database_url) as (app, admin):
        app.incidents.declare("first", "", "servers", 2, None, admin)  # the tenure exists, and is cached
        tenure_id = tenure.tenure_id(admin.person_id)
        reads: list[int | None] = []
        select_events = app.recorder.select_events

        def counted(originator_id, *args, **kwargs):
            if originator_id == tenure_id:
                reads.append(kwargs.get("gt"))
            return select_events(originator_id, *args, **kwargs)

        app.recorder.select_events = counted
        second = app.incidents.declare("second", "", "servers", 2, None, admin)
        app.recorder.select_events = select_events

        assert len(reads) == 1, reads
        stored = app.repository.get(tenure_id)
        assert stored.version == 3 and second.manager == admin.person_id  # created, started, continued
