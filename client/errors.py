"""The two ways a call to a Warroom service fails: the service refused it, or it could not be reached."""

from __future__ import annotations

from typing import Any


class ApiProblem(Exception):
    """An RFC 9457 problem the service answered: the request was refused and nothing changed.

    ``rule`` names the rule of the process that refused it (``"R13"``), when one did; ``errors`` lists
    the fields a 422 found wrong (``[{"field": ..., "message": ...}]``).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        rule: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        type: str = "about:blank",
        instance: str | None = None,
        retry_after: str | None = None,
        body: dict[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.rule, self.errors, self.type, self.instance = rule, errors or [], type, instance
        self.retry_after = retry_after
        self.body = body if body is not None else {}

    @classmethod
    def from_body(cls, status: int, body: Any, fallback_title: str, retry_after: str | None = None) -> ApiProblem:
        """The problem a response carries; a body that is no problem (a proxy's page) still says something."""
        if not isinstance(body, dict):
            text = " ".join(str(body or "").split())[:300]
            return cls(status, fallback_title, text or fallback_title.lower(), retry_after=retry_after)
        errors = body.get("errors")
        return cls(
            status,
            str(body.get("title") or fallback_title),
            str(body.get("detail") or body.get("title") or fallback_title),
            rule=body.get("rule") if isinstance(body.get("rule"), str) else None,
            errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None,
            type=str(body.get("type") or "about:blank"),
            instance=body.get("instance") if isinstance(body.get("instance"), str) else None,
            retry_after=retry_after,
            body=body,
        )

    def __str__(self) -> str:
        rule = f" ({self.rule})" if self.rule else ""
        return f"refused{rule}: {self.detail}"


class ServiceUnreachable(Exception):
    """No answer from a service: nothing listens at the URL, the name does not resolve, or it timed out."""

    def __init__(self, service: str, url: str, reason: str):
        super().__init__(f"cannot reach the {service} service at {url}: {reason}")
        self.service, self.url, self.reason = service, url, reason
