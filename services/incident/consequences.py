"""What other services' events change on an incident: timers that fired (R05, R11) and a published
post-mortem (R16). Decided here and recorded as incident events, so an incident's history stays whole."""

from services.incident.domain import Incident
from services.incident.errors import NotFound
from services.incident.policy import Actor
from shared import durations


class Consequences:
    def __init__(self, store, incidents):
        self.store, self.incidents = store, incidents  # store: the IncidentApplication

    def escalate(self, incident_id: str, person: str, timer_id: str) -> bool:
        """The ack_due timer fired (R11): page the next SME, then the catch-all, then tell observers.
        Nothing changes for a stale timer (answered, handed over, another page) or one early by the
        incident's own reckoning of the page's deadline (Incident.escalate)."""
        return self._system_command(incident_id, lambda i, ctx: i.escalate(timer_id, person, ctx))

    def record_shift_breach(self, incident_id: str, manager: str, timer_id: str) -> bool:
        """The shift_limit timer fired (R05): record the breach if the incident's own clock agrees."""

        def change(incident, ctx):
            if incident.manager != manager or not incident.over_shift_limit(ctx):
                return False
            limit = durations.format(ctx.rules.manager_shift_limit)
            return incident.record_shift_breach(manager, incident.manager_since, limit, timer_id)

        return self._system_command(incident_id, change)

    def close_incident(self, incident_id: str, by: str) -> bool:
        """The post-mortem was published (R16)."""
        return self._system_command(incident_id, lambda i, ctx: i.close(by, ctx.at))

    def _system_command(self, incident_id: str, change) -> bool:
        """A consequence decided here of another service's event; False when it no longer applies."""
        try:
            incident = self.store.load(Incident, incident_id, "incident")
        except NotFound:
            return False
        if incident.status == "closed":
            return False
        applied = []
        self.incidents.command(incident_id, None, Actor("warroom"), lambda i, ctx: applied.append(change(i, ctx)))
        return bool(applied and applied[0])
