"""The incident service's API (incidents, their commands and history, minor reports)."""

from __future__ import annotations

from typing import Any, cast

from client.http import Transport
from client.shapes import EventPage, Incident, IncidentPage, Integrity, ReportFiled


class IncidentCommands:
    """Every command on an incident; each returns the incident's whole representation after it.

    ``if_match`` (an incident version) makes the command refuse with 412 if the incident changed since.
    """

    def __init__(self, transport: Transport):
        self.transport = transport

    def _command(self, method: str, incident_id: str, path: str, body: Any, if_match: int | None) -> Incident:
        url = f"/v1/incidents/{incident_id}{path}"
        return cast(Incident, self.transport.json(method, url, json=body, if_match=if_match))

    def acknowledge(self, incident_id: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/acknowledge", None, if_match)

    def add_member(self, incident_id: str, role: str, person: str, *, if_match: int | None = None) -> Incident:
        """``role``: "workers", "smes" or "observers"."""
        return self._command("POST", incident_id, f"/{role}", {"person": person}, if_match)

    def remove_member(self, incident_id: str, role: str, person: str, *, if_match: int | None = None) -> Incident:
        return self._command("DELETE", incident_id, f"/{role}/{person}", None, if_match)

    def assign_pr_manager(self, incident_id: str, person: str, *, if_match: int | None = None) -> Incident:
        return self._command("PUT", incident_id, "/pr-manager", {"person": person}, if_match)

    def offer_handover(self, incident_id: str, to: str, briefing: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/handover", {"to": to, "briefing": briefing}, if_match)

    def accept_handover(self, incident_id: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/handover/accept", None, if_match)

    def decline_handover(self, incident_id: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/handover/decline", None, if_match)

    def force_handover(self, incident_id: str, to: str, reason: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/handover/force", {"to": to, "reason": reason}, if_match)

    def give_severity_input(
        self, incident_id: str, level: int, comment: str = "", *, if_match: int | None = None
    ) -> Incident:
        return self._command("POST", incident_id, "/severity-input", {"level": level, "comment": comment}, if_match)

    def change_severity(
        self,
        incident_id: str,
        level: int,
        reason: str,
        considered_input: list[int] | None = None,
        *,
        if_match: int | None = None,
    ) -> Incident:
        body = {"level": level, "reason": reason, "considered_input": considered_input or []}
        return self._command("POST", incident_id, "/severity", body, if_match)

    def request_status(self, incident_id: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/status-requests", {}, if_match)

    def post_status_update(
        self,
        incident_id: str,
        *,
        learned: str,
        tried: str,
        outcome: str,
        working_on: str,
        remaining: str,
        if_match: int | None = None,
    ) -> Incident:
        body = {"learned": learned, "tried": tried, "outcome": outcome, "working_on": working_on}
        return self._command("POST", incident_id, "/status-updates", {**body, "remaining": remaining}, if_match)

    def brief_observers(self, incident_id: str, summary: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/observer-briefings", {"summary": summary}, if_match)

    def post_public_update(self, incident_id: str, message: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/public-updates", {"message": message}, if_match)

    def request_affected_info(self, incident_id: str, question: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/affected-info-requests", {"question": question}, if_match)

    def report_affected_info(self, incident_id: str, findings: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/affected-info-reports", {"findings": findings}, if_match)

    def complete_step(self, incident_id: str, step: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, f"/checklist/{step}/done", None, if_match)

    def resolve(self, incident_id: str, resolution: str, test_plan: str, *, if_match: int | None = None) -> Incident:
        body = {"resolution": resolution, "test_plan": test_plan}
        return self._command("POST", incident_id, "/resolve", body, if_match)

    def reopen(self, incident_id: str, reason: str, *, if_match: int | None = None) -> Incident:
        return self._command("POST", incident_id, "/reopen", {"reason": reason}, if_match)


class Incidents(IncidentCommands):
    """Declaring, reading and following incidents, and filing minor reports."""

    def declare(
        self, *, title: str, aspect: str, severity: int, description: str = "", manager: str | None = None
    ) -> Incident:
        body: dict[str, Any] = {"title": title, "description": description, "aspect": aspect, "severity": severity}
        if manager:
            body["manager"] = manager
        return cast(Incident, self.transport.json("POST", "/v1/incidents", json=body))

    def page(
        self,
        *,
        status: str | None = None,
        severity: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> IncidentPage:
        params = {"status": status, "severity": severity, "cursor": cursor, "limit": limit}
        return cast(IncidentPage, self.transport.json("GET", "/v1/incidents", params=params))

    def get(self, incident_id: str, *, as_of: str | None = None) -> Incident:
        return cast(Incident, self.transport.json("GET", f"/v1/incidents/{incident_id}", params={"as_of": as_of}))

    def events(self, incident_id: str, *, after: int = 0, limit: int | None = None) -> EventPage:
        params = {"after": after, "limit": limit}
        return cast(EventPage, self.transport.json("GET", f"/v1/incidents/{incident_id}/events", params=params))

    def export(self, incident_id: str) -> str:
        """The whole history as JSON lines (one CloudEvent a line)."""
        return self.transport.text(f"/v1/incidents/{incident_id}/events", accept="application/x-ndjson")

    def integrity(self, incident_id: str) -> Integrity:
        """The service's check of the incident's hash chain (S8), recomputed from its store."""
        return cast(Integrity, self.transport.json("GET", f"/v1/incidents/{incident_id}/integrity"))

    def file_minor_report(self, *, title: str, aspect: str, description: str = "") -> ReportFiled:
        body = {"title": title, "description": description, "aspect": aspect}
        return cast(ReportFiled, self.transport.json("POST", "/v1/reports", json=body))
