"""The post-mortem, timers and notifier services' APIs."""

from __future__ import annotations

from typing import Any, cast

from client.http import Transport
from client.shapes import Postmortem, ReportLink, SubscriptionCreated, Timer

REPORT_MEDIA = {"md": ("report.md", "text/markdown"), "html": ("report.html", "text/html")}


class Postmortems:
    def __init__(self, transport: Transport):
        self.transport = transport

    def get(self, incident_id: str) -> Postmortem:
        return cast(Postmortem, self.transport.json("GET", f"/v1/postmortems/{incident_id}"))

    def report(self, incident_id: str, format: str) -> str:
        """The report as ``md`` (Markdown) or ``html`` (one self-contained page)."""
        name, media = REPORT_MEDIA[format]
        return self.transport.text(f"/v1/postmortems/{incident_id}/{name}", accept=media)

    def link(self, incident_id: str) -> ReportLink:
        """A fresh signed URL of the HTML report that opens in a browser without a token."""
        return cast(ReportLink, self.transport.json("GET", f"/v1/postmortems/{incident_id}/link"))

    def edit_section(self, incident_id: str, section: str, text: str) -> dict[str, Any]:
        path = f"/v1/postmortems/{incident_id}/sections/{section}"
        return cast(dict[str, Any], self.transport.json("PUT", path, json={"text": text}))

    def add_action_item(self, incident_id: str, item: dict[str, Any]) -> dict[str, Any]:
        """``{title, owner, due, kind, change?}``."""
        path = f"/v1/postmortems/{incident_id}/action-items"
        return cast(dict[str, Any], self.transport.json("POST", path, json=item))

    def apply_action_item(self, incident_id: str, item_id: int) -> dict[str, Any]:
        path = f"/v1/postmortems/{incident_id}/action-items/{item_id}/apply"
        return cast(dict[str, Any], self.transport.json("POST", path))

    def publish(self, incident_id: str) -> Postmortem:
        return cast(Postmortem, self.transport.json("POST", f"/v1/postmortems/{incident_id}/publish"))

    def backtest(
        self,
        *,
        change: dict[str, Any] | None = None,
        document: dict[str, Any] | None = None,
        since: str | None = None,
        incidents: list[str] | None = None,
    ) -> dict[str, Any]:
        """What a proposed process (exactly one of a merge patch ``change`` on each incident's own version and
        a whole ``document``) would have done to past incidents: the last 90 days unless ``since`` (ISO 8601)
        or ``incidents`` say otherwise. Changes nothing."""
        body = {"change": change, "document": document, "since": since, "incidents": incidents}
        sent = {key: value for key, value in body.items() if value is not None}
        return cast(dict[str, Any], self.transport.json("POST", "/v1/backtests", json=sent))

    def backtest_refinement(
        self, incident_id: str, item_id: int, *, since: str | None = None, incidents: list[str] | None = None
    ) -> dict[str, Any]:
        """The back-test of a post-mortem's process-refinement action item, before anyone applies it."""
        path = f"/v1/postmortems/{incident_id}/action-items/{item_id}/backtest"
        return cast(dict[str, Any], self.transport.json("GET", path, params={"since": since, "incidents": incidents}))


class Timers:
    def __init__(self, transport: Transport):
        self.transport = transport

    def of(self, incident_id: str) -> list[Timer]:
        body = self.transport.json("GET", "/v1/timers", params={"incident_id": incident_id})
        return cast(list[Timer], body["timers"])


class Notifier:
    def __init__(self, transport: Transport):
        self.transport = transport

    def subscribe(self, url: str, event_types: list[str], secret: str) -> SubscriptionCreated:
        body = {"url": url, "event_types": event_types, "secret": secret}
        return cast(SubscriptionCreated, self.transport.json("POST", "/v1/subscriptions", json=body))

    def deliveries(self, *, incident_id: str | None = None, person: str | None = None) -> dict[str, Any]:
        params = {"incident_id": incident_id, "person": person}
        return cast(dict[str, Any], self.transport.json("GET", "/v1/deliveries", params=params))

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.transport.json("POST", f"/v1/deliveries/{delivery_id}/redeliver"))
