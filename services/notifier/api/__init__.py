"""The notifier's HTTP routes, one router per resource: deliveries (with their endpoints' state and
the signing secrets) and subscriptions."""

from services.notifier.api import deliveries, subscriptions

ROUTERS = (deliveries.router, subscriptions.router)
