"""HTTP: minor reports (R12)."""

from fastapi import APIRouter, Response, status

from services.incident.api.threaded import in_thread
from services.incident.deps import App, Caller, Reply
from services.incident.schemas import ReportFiled, ReportIn

router = APIRouter(prefix="/v1", tags=["reports"])


@router.post(
    "/reports", status_code=status.HTTP_202_ACCEPTED, response_model=ReportFiled, summary="File a minor report"
)
@in_thread
def file_minor_report(body: ReportIn, app: App, actor: Caller) -> Response | dict[str, str]:
    """R12: too small for the incident process — recorded, published, forwarded to the process's
    `issue_tracker_webhook` when one is set. Anyone signed in may file one."""
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
