"""One service's HTTP transport: bearer token, problems as ApiProblem, unreachable as ServiceUnreachable,
and an Idempotency-Key on every POST so that a retried call never acts twice."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import httpx

from client.errors import ApiProblem, ServiceUnreachable

# A connection that failed, or an answer lost on the way back, is tried again (with the same
# Idempotency-Key, so the service replays its first answer instead of acting twice).
ATTEMPTS = 3
BACKOFF = (0.2, 0.6)
# A 503 or 429 that says when to come back is waited for, if that is soon.
LONGEST_RETRY_AFTER = 10.0
Params = Mapping[str, str | int | list[str] | None]


def _reason(error: httpx.TransportError) -> str:
    """The cause in words a person acts on."""
    if isinstance(error, httpx.TimeoutException):
        return "it did not answer in time"
    if isinstance(error, httpx.UnsupportedProtocol):
        return "that is not an http:// or https:// URL"
    text = str(error) or type(error).__name__
    if "refused" in text.lower():
        return "the connection was refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "the host name does not resolve"
    return text


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= LONGEST_RETRY_AFTER else None


def problem_of(response: httpx.Response) -> ApiProblem:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    try:
        fallback = HTTPStatus(response.status_code).phrase
    except ValueError:
        fallback = f"HTTP {response.status_code}"
    return ApiProblem.from_body(response.status_code, body, fallback, response.headers.get("retry-after"))


class Transport:
    """Calls one service; ``service`` names it in messages ("incident", "post-mortem", ...)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        service: str,
        *,
        timeout: float = 15.0,
        http: httpx.Client | None = None,
    ):
        self.base_url, self.service = base_url.rstrip("/"), service
        self.token = token
        self.http = http or httpx.Client(timeout=timeout)

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "warroom-cli"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return {**headers, **(extra or {})}

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        if_match: int | None = None,
    ) -> httpx.Response:
        """The 2xx answer to one logical call, retried as the module says; anything else raised."""
        sent = self.headers(headers)
        if method == "POST":
            sent["Idempotency-Key"] = str(uuid.uuid4())  # one per logical call, the same on every retry
        if if_match is not None:
            sent["If-Match"] = f'"{if_match}"'
        query = {name: value for name, value in (params or {}).items() if value is not None}
        url = f"{self.base_url}{path}"
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            try:
                response = self.http.request(method, url, params=query, json=json, headers=sent)
            except httpx.TransportError as error:
                if last or isinstance(error, httpx.UnsupportedProtocol):
                    raise ServiceUnreachable(self.service, self.base_url, _reason(error)) from None
                time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
                continue
            if response.status_code in (429, 503) and not last and (wait := _retry_after(response)) is not None:
                time.sleep(wait)
                continue
            if response.is_success:
                return response
            raise problem_of(response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    def text(self, path: str, *, accept: str, params: Params | None = None) -> str:
        return self.request("GET", path, params=params, headers={"Accept": accept}).text

    @contextmanager
    def stream(self, path: str, headers: Mapping[str, str], read_timeout: float) -> Iterator[httpx.Response]:
        """A streamed GET (Server-Sent Events); a refusal raised as a problem, no answer as unreachable."""
        timeout = httpx.Timeout(10.0, read=read_timeout)
        try:
            with self.http.stream("GET", f"{self.base_url}{path}", headers=self.headers(headers), timeout=timeout) as r:
                if not r.is_success:
                    r.read()
                    raise problem_of(r)
                yield r
        except httpx.ConnectError as error:
            raise ServiceUnreachable(self.service, self.base_url, _reason(error)) from None

    def close(self) -> None:
        self.http.close()
