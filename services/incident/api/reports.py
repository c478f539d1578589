"""HTTP: minor reports (R12)."""

from fastapi import APIRouter, Response, status

from services.incident.deps import App, Caller, Reply
from services.incident.schemas import ReportIn

router = APIRouter(prefix="/v1")


@router.post("/reports", status_code=status.HTTP_202_ACCEPTED, response_model=dict[str, str], tags=["reports"])
def file_minor_report(body: ReportIn, app: App, actor: Caller) -> Response | dict[str, str]:
    """R12: too small for the incident process — recorded, published, forwarded to the issue tracker."""
    reply = Reply.to(202)  # keyed (F10): the answer is recorded in the events' commit
    report = app.organisation.file_report(
        body.title,
        body.description,
        body.aspect,
        actor,
        answer=reply and (lambda report: reply({"id": str(report.id)})),
    )
    if reply is None:
        return {"id": str(report.id)}
    assert reply.response is not None  # rendered by the answer above, before the save
    return reply.response
