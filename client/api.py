"""All four services behind one object, configured like the command line (client.config)."""

from __future__ import annotations

from client.config import Config, load
from client.http import Transport
from client.incident import Incidents
from client.organisation import Directory, People, Processes
from client.services import Notifier, Postmortems, Timers


class Warroom:
    """``Warroom.from_environment().incidents.declare(...)``; close it (or use ``with``) when done."""

    def __init__(self, config: Config, *, timeout: float = 15.0):
        self.config = config
        self._incident = Transport(config.url, config.token, "incident", timeout=timeout)
        self._postmortem = Transport(config.postmortem_url, config.token, "post-mortem", timeout=timeout)
        self._timers = Transport(config.timers_url, config.token, "timers", timeout=timeout)
        self._notifier = Transport(config.notifier_url, config.token, "notifier", timeout=timeout)
        self.incidents = Incidents(self._incident)
        self.people = People(self._incident)
        self.directory = Directory(self._incident)
        self.process = Processes(self._incident)
        self.postmortems = Postmortems(self._postmortem)
        self.timers = Timers(self._timers)
        self.notifier = Notifier(self._notifier)

    @classmethod
    def from_environment(cls) -> Warroom:
        return cls(load())

    @property
    def incident_transport(self) -> Transport:
        return self._incident

    def close(self) -> None:
        for transport in (self._incident, self._postmortem, self._timers, self._notifier):
            transport.close()

    def __enter__(self) -> Warroom:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
