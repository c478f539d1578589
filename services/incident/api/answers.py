"""How every route that changes or reads an incident answers (conventions: README, "Calling the API")."""

from fastapi import Response

from services.incident.deps import Reply
from services.incident.incident_schemas import IncidentOut, incident_out


def answer(app, response: Response, incident, **extra) -> IncidentOut:
    """Every incident response: the whole representation, with its version as the ETag."""
    response.headers["ETag"] = f'"{incident.version}"'
    return incident_out(incident, {**app.incidents.representation(incident), **extra})


def keyed_answer(app, reply: Reply, incident, status: int = 200, **extra):
    """``answer`` for a keyed request, from the incident as changed and before it is saved (F10)."""
    headers = {"ETag": f'"{incident.version}"'}
    if status == 201:
        headers["Location"] = f"/v1/incidents/{incident.id}"
    return reply(incident_out(incident, {**app.incidents.representation(incident), **extra}), headers)
