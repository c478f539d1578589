"""Structured JSON logs for every service.

Every line names its service, and while a request or a hop of a trace runs (``shared.tracing``: a
request, a consumer applying an event, a delivery attempt, a timer firing) its ``request_id`` and
``trace_id``: read from their context variables as a line is written (``add_request_and_trace``), so a
request or an event pays nothing for it unless it logs. Other fields a caller binds with structlog's
context variables (``service``, a consumer's ``event_id``) are merged too."""

import logging
import os
import time
from contextvars import ContextVar
from typing import Any, cast

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, WrappedLogger

from shared import tracing

# The request being answered (shared.telemetry sets it for the request's length), for its log lines.
REQUEST_ID: ContextVar[str | None] = ContextVar("warroom_request_id", default=None)


def add_request_and_trace(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """The current request's id and the current hop's trace id, unless the line names its own."""
    if (request_id := REQUEST_ID.get()) is not None:
        event.setdefault("request_id", request_id)
    if (context := tracing.current()) is not None:
        event.setdefault("trace_id", context.trace_id)
    return event


def configure(service: str, level: str = "info") -> None:
    logging.basicConfig(format="%(message)s", level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_request_and_trace,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )
    structlog.contextvars.bind_contextvars(service=service)


def get(name: str) -> FilteringBoundLogger:
    # structlog types get_logger as Any; what it hands out is what ``configure`` makes (a filtering
    # bound logger), or until then a lazy proxy that becomes one.
    return cast(FilteringBoundLogger, structlog.get_logger(name))


class Throttled:
    """Logs of an outage: a line per kind at most once every ``every`` seconds (by default
    ``WARROOM_LOG_REPEAT_SECONDS``, 10), the next one saying how many were held back (``suppressed``),
    so a NATS or PostgreSQL outage is reported without flooding the log twice a second."""

    def __init__(self, logger: FilteringBoundLogger, every: float | None = None) -> None:
        self.logger, self.every = logger, every
        self.last: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def log(self, level: str, event: str, *, kind: str | None = None, **fields: Any) -> bool:
        """Log now, or count it; returns whether it was logged. ``kind`` defaults to the event's name."""
        every = self.every if self.every is not None else float(os.environ.get("WARROOM_LOG_REPEAT_SECONDS", 10))
        key, now = kind or event, time.monotonic()
        last = self.last.get(key)
        if last is not None and now - last < every:
            self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return False
        self.last[key] = now
        held = self.suppressed.pop(key, 0)
        getattr(self.logger, level)(event, **fields, **({"suppressed": held} if held else {}))
        return True

    def warning(self, event: str, **fields: Any) -> bool:
        return self.log("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> bool:
        return self.log("error", event, **fields)
