"""Why a command is refused, independent of HTTP (the API maps these to problem+json)."""


class Refused(Exception):
    status = 400

    def __init__(self, detail: str, rule: str | None = None, errors: list[dict] | None = None):
        super().__init__(detail)
        self.detail, self.rule, self.errors = detail, rule, errors


class Forbidden(Refused):
    """The caller's role may not do this (403)."""

    status = 403


class Conflict(Refused):
    """The incident's state or an invariant forbids it (409)."""

    status = 409


class Invalid(Refused):
    """The input is malformed or incomplete (422)."""

    status = 422


class NotFound(Refused):
    status = 404
