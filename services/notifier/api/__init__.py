"""The notifier's HTTP routes, one router per resource: deliveries (with their endpoints' state and
the signing secrets) and subscriptions."""

from services.notifier.api import deliveries, subscriptions

ROUTERS = (deliveries.router, subscriptions.router)
# The document's tags, in the order its readers meet them.
TAGS = [
    {
        "name": "deliveries",
        "description": "Who was told what, how each attempt went, sending one again; the circuit breakers of the "
        "endpoints that failed (F14)",
    },
    {"name": "signing", "description": "The Standard Webhooks secrets webhooks are signed with (S5)"},
    {"name": "subscriptions", "description": "Other systems following the events, each POSTed to them signed"},
]
