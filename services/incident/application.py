"""The incident service's one event store, and the use cases around it.

One eventsourcing ``Application``: one store, one recorder (the relay reads its notifications), one
aggregate cache and one set of turns (turns.py). Every use case saves and loads through it, so a command's
incident and the people's time records it moves commit together. The use cases are objects of their own,
each about one thing:

- ``people`` (organisation_app.py, tokens.py): authentication and its cache, people, tokens and console
  sessions, the built-in admin;
- ``people_admin`` (people_admin.py): editing, deactivating and activating people;
- ``organisation`` (organisation_app.py): process versions, the SME directory, minor reports;
- ``incidents`` (incidents.py): reading, declaring and every command, with the retry loop;
- ``timekeeping`` (timekeeping.py): managers' tenure (R05) and workers' load (R19) across incidents;
- ``refinements`` (refinements.py): a post-mortem's process refinement applied (R17);
- ``consequences`` (consequences.py): what other services' events change on an incident (timers, R16);
- ``alerts`` (alerts.py): Prometheus Alertmanager's notifications, as incidents or minor reports.

Synchronous (the eventsourcing library is): the API calls these from FastAPI's threadpool.
"""

from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore, IntegrityError, Mapper

from services.incident import tenure, turns
from services.incident.alerts import AlertIntake
from services.incident.chained_events import ChainedEventStore, ChainedMapper
from services.incident.consequences import Consequences
from services.incident.domain import Incident
from services.incident.errors import Conflict, NotFound
from services.incident.incidents import Incidents
from services.incident.organisation_app import Organisation, People
from services.incident.people_admin import PeopleAdmin
from services.incident.refinements import Refinements
from services.incident.snapshot_catch_up import SnapshotCatchUpRepository
from services.incident.timekeeping import Timekeeping
from shared import tracing
from shared.clock import Clock
from shared.idempotency import Answer
from shared.sealing import Sealer
from shared.settings import Settings

# The class of aggregate ``load`` is asked for, and so returns.
AggregateT = TypeVar("AggregateT", bound=Aggregate)


class IncidentApplication(Application):
    name = "incident"
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000"}
    # A person's time records grow with every incident they join: snapshots keep loading them flat too.
    snapshotting_intervals = {Incident: 100, tenure.ManagerTenure: 100, tenure.WorkerLoad: 100}

    def __init__(self, env=None, clock: Clock | None = None, sealer: Sealer | None = None):
        super().__init__(env)
        self.clock = clock or Clock()
        # Seals the secrets people and the process hold before they are stored, opens them for admins (S11).
        self.sealer = sealer or Sealer(Settings().secrets_keys)
        self.turns = turns.Turns()
        self.people = People(self)
        self.organisation = Organisation(self, self.people)
        self.people_admin = PeopleAdmin(self, self.people, self.organisation)
        self.timekeeping = Timekeeping(self, self.organisation)
        self.incidents = Incidents(self, self.people, self.organisation, self.timekeeping)
        self.refinements = Refinements(self, self.people)
        self.consequences = Consequences(self, self.incidents)
        self.alerts = AlertIntake(self, self.incidents, self.organisation)

    def construct_mapper(self) -> Mapper[UUID]:
        # Every stored event keeps the trace context it was made in, for the relay (traced_events.py), and
        # every incident event its chainhash (chained_events.py).
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=ChainedMapper)

    def construct_event_store(self) -> EventStore[UUID]:
        # Incident events stored with their chainhash, computed in the save (chained_events.py).
        assert isinstance(self.mapper, ChainedMapper)  # construct_mapper's
        return ChainedEventStore(self.mapper, self.recorder)

    def construct_repository(self) -> Repository[UUID]:
        # A cached aggregate far behind the store (commands made on other replicas or workers) starts again
        # from its latest snapshot instead of applying every event since (snapshot_catch_up.py).
        return SnapshotCatchUpRepository.like(super().construct_repository())

    # --- saving and loading, for every use case ---

    def record(self, *aggregates, answer: Answer | None = None) -> None:
        """Save (the relay is told by PostgreSQL: relay.py). ``answer``: a keyed request's reply, recorded with
        its key in the events' commit (recorder.py). IntegrityError (a concurrent write) is the caller's to
        handle; ``Answered`` the middleware's."""
        with tracing.step("save", aggregates=len(aggregates)):  # its events name this span
            if answer is None:
                self.save(*aggregates)
            else:
                self.save(*aggregates, answer=answer)

    def record_or_conflict(self, *aggregates) -> None:
        try:
            self.record(*aggregates)
        except IntegrityError as exc:
            raise Conflict("another command changed this first; read it again and retry") from exc

    def load(
        self, cls: type[AggregateT], aggregate_id: UUID | str, what: str, version: int | None = None
    ) -> AggregateT:
        """The aggregate of class ``cls``, or NotFound naming ``what`` was sought."""
        try:
            aggregate: Aggregate = self.repository.get(UUID(str(aggregate_id)), version=version)
        except (AggregateNotFoundError, ValueError):
            raise NotFound(f"no such {what}: {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"no such {what}: {aggregate_id}")
        return aggregate

    def find(self, aggregate_id: UUID):
        """The aggregate, or None."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
