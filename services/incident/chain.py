"""An incident's history as a hash chain (S8), pure: how each event's ``chainhash`` is made and checked.

Each published incident event carries the CloudEvents extension attribute ``chainhash``: ``sha256:`` and
the lowercase hex SHA-256 of the previous event's ``chainhash`` (the empty string at sequence 1) followed
by the RFC 8785 canonical JSON of the event's ``{id, type, subject, sequence, time, data}`` — no other
attribute, and those exactly as they are published (the JSON of the envelope, read back), so anyone
holding the events can check them. The events are every event of the incident's aggregate, all of them
published (``warroom.incident.*``): the chain has no gap, its sequences are 1, 2, … A stored field the
published data leaves out (translate.py ``_PRIVATE_FIELDS``) is outside the chain, as it is outside
what anyone else sees.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import rfc8785

from shared.contract import Envelope

GENESIS = ""  # the "previous chainhash" of sequence 1
PREFIX = "sha256:"
HASHED = ("id", "type", "subject", "sequence", "time", "data")


def canonical(envelope: Envelope) -> bytes:
    """The RFC 8785 form of the hashed attributes, as the published JSON has them."""
    published = json.loads(envelope.to_bytes())
    return rfc8785.dumps({name: published[name] for name in HASHED})


def link(previous: str, envelope: Envelope) -> str:
    """The ``chainhash`` of ``envelope`` after the event whose ``chainhash`` is ``previous``."""
    return PREFIX + hashlib.sha256(previous.encode() + canonical(envelope)).hexdigest()


@dataclass(frozen=True)
class Stored:
    """One event of an incident's history as the store holds it: its place (``sequence``, the aggregate
    version it is stored at), its published form (None: it no longer reads as an incident's event), and the
    ``chainhash`` stored beside it (None: none)."""

    sequence: int
    envelope: Envelope | None
    chainhash: str | None


@dataclass(frozen=True)
class Published:
    """The last event of the incident the relay published: its sequence and ``chainhash``."""

    sequence: int
    chainhash: str


@dataclass(frozen=True)
class Verdict:
    """``events`` stored; ``head``: the chain recomputed over them; ``broken_at``: the first event found
    missing or changed (None: intact)."""

    events: int
    head: str
    broken_at: int | None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def walk(history: Iterable[Stored]) -> tuple[list[str], int | None]:
    """Every event's ``chainhash`` recomputed from the content, in order, and the first event whose place,
    content or stored ``chainhash`` disagrees: a missing one (a gap in the sequences), one moved, one changed.
    An event that no longer reads adds nothing to the recomputed chain."""
    recomputed: list[str] = []
    broken: int | None = None
    previous = GENESIS
    for expected, stored in enumerate(history, start=1):
        if stored.envelope is not None:
            previous = link(previous, stored.envelope)
        recomputed.append(previous)
        if broken is None and (
            stored.sequence != expected  # the event that should stand here is gone, or moved
            or stored.envelope is None
            or stored.chainhash != previous
        ):
            broken = expected
    return recomputed, broken


def verdict(history: Iterable[Stored], version: int | None, published: Published | None) -> Verdict:
    """The history checked by itself, then against the incident's ``version`` (None: unknown) and the last
    event published — what a deleted last event or a chain recomputed after an edit cannot hide from."""
    recomputed, broken = walk(history)
    count = len(recomputed)
    head = recomputed[-1] if recomputed else GENESIS
    if broken is None and version is not None and version > count:
        broken = count + 1  # the incident has events the store no longer holds
    if broken is None and published is not None:
        if published.sequence > count:
            broken = count + 1  # published, and gone since
        elif recomputed[published.sequence - 1] != published.chainhash:
            # Rewritten after it was published: the change lies at or before this event, which no
            # longer has the chainhash everyone received.
            broken = published.sequence
    return Verdict(count, head, broken)
