"""Warroom's typed client and the `warroom` command line.

    from client import Warroom, ApiProblem
    with Warroom.from_environment() as warroom:
        incident = warroom.incidents.declare(title="Checkout down", aspect="servers", severity=1)

Refusals raise ApiProblem (status, title, detail, rule, errors); a service that cannot be reached
raises ServiceUnreachable. Every POST carries its own Idempotency-Key, reused on retries.
"""

from client.api import Warroom
from client.config import Config, load
from client.errors import ApiProblem, ServiceUnreachable

__all__ = ["ApiProblem", "Config", "ServiceUnreachable", "Warroom", "load"]
