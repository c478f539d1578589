"""What names things in the notifier: the channels, a delivery's id, and the endpoint a 410 disables.

Pure: no SQL, HTTP or NATS here.
"""

import uuid

from shared.uuids import Namespace

WEBHOOK, EMAIL, SUBSCRIPTION, ISSUE_TRACKER = "webhook", "email", "subscription", "issue_tracker"
# A level's chat room (its chat_webhook_url): the recipient of every post there, on the channel "chat".
CHAT, CHAT_ROOM = "chat", "chat_room"
# Phones: a person's Apprise URLs for these channels (phones.py).
PHONE, SMS = "phone", "sms"
# The channels that reach a person (their notification.delivered names them).
PERSONAL = frozenset({WEBHOOK, EMAIL, PHONE, SMS})

# Deliveries are named by what they deliver, so the same notice always has the same id: the
# webhook-id a receiver de-duplicates on, whichever replica, restart or rebuild queues it.
DELIVERY_NAMESPACE = uuid.UUID("2b0f7c1e-5d8a-4f3b-9e61-7a4c2d9e8f10")
_DELIVERY_IDS = Namespace(DELIVERY_NAMESPACE)


def delivery_id(event_id: str, recipient: str, channel: str) -> str:
    return _DELIVERY_IDS(f"{event_id}:{recipient}:{channel}")


def endpoint(channel: str, recipient: str, target: str | None) -> str | None:
    """What a 410 Gone disables: a subscription, or a webhook URL (a chat room's too); never an email address."""
    if channel == SUBSCRIPTION:
        return f"subscription:{recipient}"
    if channel in (WEBHOOK, ISSUE_TRACKER, CHAT):
        return target
    return None
