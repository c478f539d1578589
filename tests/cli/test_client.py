"""The typed client without services: retries keep their Idempotency-Key, problems keep their parts,
and a dropped event stream resumes after the last event received."""

import json

import httpx
import pytest

from client.errors import ApiProblem, ServiceUnreachable
from client.http import Transport
from client.incident import Incidents
from client.live import follow, messages

INCIDENT = {"id": "i-1", "title": "Checkout down", "version": 2}


def transport(handler) -> Transport:
    return Transport("http://incident", "secret", "incident", http=httpx.Client(transport=httpx.MockTransport(handler)))


def test_f10_a_post_retried_after_a_lost_answer_carries_the_same_idempotency_key(monkeypatch):
    monkeypatch.setattr("client.http.time.sleep", lambda _: None)
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(200, json=INCIDENT)

    incidents = Incidents(transport(handler))
    assert incidents.acknowledge("i-1")["version"] == 2
    assert len(keys) == 2 and keys[0] == keys[1]
    incidents.acknowledge("i-1")
    assert keys[2] != keys[0]  # another logical call, another key


def test_cli_a_refusal_is_raised_with_its_title_detail_rule_and_errors():
    body = {
        "type": "http://x/rules#r06",
        "title": "Unprocessable content",
        "status": 422,
        "detail": "a status update needs all five parts",
        "rule": "R06",
        "errors": [{"field": "tried", "message": "is blank"}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json=body, headers={"content-type": "application/problem+json"})

    with pytest.raises(ApiProblem) as refused:
        Incidents(transport(handler)).post_status_update(
            "i-1", learned="a", tried="", outcome="c", working_on="d", remaining="e"
        )
    problem = refused.value
    assert (problem.status, problem.title, problem.rule) == (422, "Unprocessable content", "R06")
    assert problem.errors == [{"field": "tried", "message": "is blank"}]
    assert str(problem) == "refused (R06): a status update needs all five parts"


def test_cli_a_service_that_never_answers_is_unreachable_after_the_retries(monkeypatch):
    monkeypatch.setattr("client.http.time.sleep", lambda _: None)

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(ServiceUnreachable) as unreachable:
        Incidents(transport(handler)).get("i-1")
    assert "http://incident" in str(unreachable.value) and "refused" in str(unreachable.value)


def test_cli_server_sent_events_are_parsed_with_ids_multiline_data_and_keepalives_skipped():
    lines = [": keep-alive", "id: 1", 'data: {"a":', "data: 1}", "", ":", "retry: 500", "id: 2", "data: x", ""]
    parsed = list(messages(lines))
    assert [(m.id, m.data) for m in parsed] == [("1", '{"a":\n1}'), ("2", "x")]
    assert parsed[1].retry == 500


def _sse(*events: dict) -> bytes:
    return b"".join(f"id: {e['sequence']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def test_cli_watch_resumes_after_a_dropped_connection_from_the_last_event_id():
    seen_ids: list[str | None] = []
    first = {"type": "warroom.incident.declared.v1", "sequence": 1, "data": {}}
    second = {"type": "warroom.incident.acknowledged.v1", "sequence": 2, "data": {}}
    closed = {"type": "warroom.incident.closed.v1", "sequence": 3, "data": {}}

    def handler(request: httpx.Request) -> httpx.Response:
        seen_ids.append(request.headers.get("Last-Event-ID"))
        assert request.headers["Accept"] == "text/event-stream"
        if len(seen_ids) == 1:  # the connection drops after two events
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=Dropping(_sse(first, second))
            )
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_sse(closed))

    notices: list[str] = []
    events = list(follow(transport(handler), "i-1", notice=notices.append, sleep=lambda _: None))
    assert [e["sequence"] for e in events] == [1, 2, 3]
    assert seen_ids == [None, "2"]
    assert notices and "resuming after event 2" in notices[0]


class Dropping(httpx.SyncByteStream):
    """A response body that breaks off after its bytes, as a dropped connection does."""

    def __init__(self, body: bytes):
        self.body = body

    def __iter__(self):
        yield self.body
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
