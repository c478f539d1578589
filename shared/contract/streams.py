"""Every JetStream stream, its subjects and the durable consumers reading it: declared here, once.

A NATS subject is the CloudEvent type itself (``warroom.incident.declared.v1``), so a
stream's subjects are the type prefixes its producer owns.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Stream:
    name: str
    producer: str
    subjects: tuple[str, ...]


INCIDENT = Stream(
    "WARROOM_INCIDENT",
    "incident",
    (
        "warroom.incident.>",
        "warroom.person.>",
        "warroom.token.>",
        "warroom.directory.>",
        "warroom.process.>",
        "warroom.report.>",
    ),
)
TIMERS = Stream("WARROOM_TIMERS", "timers", ("warroom.timer.>",))
NOTIFIER = Stream("WARROOM_NOTIFIER", "notifier", ("warroom.notification.>",))
POSTMORTEM = Stream("WARROOM_POSTMORTEM", "postmortem", ("warroom.postmortem.>",))

STREAMS = (INCIDENT, TIMERS, NOTIFIER, POSTMORTEM)


@dataclass(frozen=True)
class Consumer:
    stream: Stream
    durable: str
    # Events of one aggregate must be applied in `sequence` order (true for the incident stream).
    ordered: bool


# Which service reads which stream, under which durable name.
CONSUMERS = {
    "incident": (
        Consumer(TIMERS, "incident-timers", False),
        Consumer(POSTMORTEM, "incident-postmortem", False),
        Consumer(INCIDENT, "incident-list", True),
    ),
    "notifier": (
        Consumer(INCIDENT, "notifier-incident", True),
        Consumer(TIMERS, "notifier-timers", False),
        Consumer(POSTMORTEM, "notifier-postmortem", False),
    ),
    "timers": (Consumer(INCIDENT, "timers-incident", True),),
    "postmortem": (
        Consumer(INCIDENT, "postmortem-incident", True),
        Consumer(TIMERS, "postmortem-timers", False),
        Consumer(NOTIFIER, "postmortem-notifier", False),
    ),
}


def stream_of(event_type: str) -> Stream:
    for stream in STREAMS:
        for subject in stream.subjects:
            if event_type.startswith(subject[:-1]):
                return stream
    raise KeyError(f"no stream carries {event_type}")
