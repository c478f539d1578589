"""S8, the chain itself (services/incident/chain.py): the canonical form is RFC 8785's, the hash input is exactly
the previous chainhash then the canonical {id, type, subject, sequence, time, data}, and a history is judged
by its place, content and stored hashes, its incident's version and the last event published."""

import hashlib
from datetime import UTC, datetime

from services.incident import chain
from shared.contract import Envelope

SUBJECT = "f7bd4305-028e-4f8b-b41b-e753e153bf37"


def _event(sequence: int, data: dict, **extra) -> Envelope:
    return Envelope(
        id=f"event-{sequence}",
        source="warroom/incident",
        type="warroom.incident.status_requested.v1",
        subject=SUBJECT,
        time=datetime(2026, 3, 2, 9, 16, 30, tzinfo=UTC),
        data=data,
        sequence=sequence,
        position=40 + sequence,
        **extra,
    )


def _data(canonical: bytes) -> bytes:
    """The canonical form of the ``data`` member inside an event's canonical form."""
    assert canonical.startswith(b'{"data":') and canonical.endswith(b"}")
    return canonical[len(b'{"data":') : canonical.index(b',"id":')]


def test_s8_the_canonical_form_is_rfc_8785s_on_its_own_examples():
    # RFC 8785 section 3.2.2: numbers in ECMAScript's form, strings escaped minimally, literals.
    sample = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert _data(chain.canonical(_event(1, sample))) == expected.encode()
    # Section 3.2.3: members sorted by their names' UTF-16 code units.
    names = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    ordered = _data(chain.canonical(_event(1, {name: n for n, name in enumerate(names)})))
    assert ordered == '{"\\r":1,"1":3,"\u0080":5,"\u00f6":6,"\u20ac":0,"\U0001f600":4,"\ufb33":2}'.encode()


def test_s8_a_chainhash_is_sha256_of_the_previous_one_then_the_canonical_hashed_attributes_only():
    first = _event(1, {"requested_by": "Sam", "n": 1}, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    canonical = (
        b'{"data":{"n":1,"requested_by":"Sam"},"id":"event-1","sequence":1,'
        b'"subject":"f7bd4305-028e-4f8b-b41b-e753e153bf37","time":"2026-03-02T09:16:30Z",'
        b'"type":"warroom.incident.status_requested.v1"}'
    )
    assert chain.canonical(first) == canonical  # no source, position, datacontenttype or extension attribute
    head = "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert chain.link(chain.GENESIS, first) == head
    second = _event(2, {})
    assert chain.link(head, second) == "sha256:" + hashlib.sha256(head.encode() + chain.canonical(second)).hexdigest()
    assert chain.link(head, first.model_copy(update={"position": 99})) == chain.link(head, first)


def _history(count: int) -> list[chain.Stored]:
    stored, previous = [], chain.GENESIS
    for sequence in range(1, count + 1):
        envelope = _event(sequence, {"n": sequence})
        previous = chain.link(previous, envelope)
        stored.append(chain.Stored(sequence, envelope, previous))
    return stored


def test_s8_an_intact_history_is_intact_whatever_has_not_been_published_yet():
    history = _history(4)
    verdict = chain.verdict(history, 4, chain.Published(2, history[1].chainhash or ""))
    assert verdict == chain.Verdict(events=4, head=history[-1].chainhash or "", broken_at=None) and verdict.intact
    assert chain.verdict(history, 3, None).intact  # a command stored after the version was read


def test_s8_a_history_is_broken_at_the_first_event_missing_moved_changed_or_unreadable():
    history = _history(5)
    changed = chain.Stored(3, _event(3, {"n": 33}), history[2].chainhash)
    assert chain.verdict([*history[:2], changed, *history[3:]], 5, None).broken_at == 3
    assert chain.verdict([history[0], *history[2:]], 5, None).broken_at == 2  # 2 deleted
    swapped = [history[0], chain.Stored(2, history[2].envelope, history[2].chainhash), history[1], *history[3:]]
    assert chain.verdict(swapped, 5, None).broken_at == 2
    unreadable = chain.Stored(4, None, history[3].chainhash)
    assert chain.verdict([*history[:3], unreadable, history[4]], 5, None).broken_at == 4
    assert chain.verdict(history[1:], 5, None).broken_at == 1  # the declaration deleted


def test_s8_a_deleted_last_event_shows_against_the_version_or_the_last_published():
    history = _history(5)
    assert chain.verdict(history[:4], 5, None).broken_at == 5
    assert chain.verdict(history[:4], 4, chain.Published(5, history[4].chainhash or "")).broken_at == 5


def test_s8_a_chain_recomputed_after_an_edit_shows_against_the_last_published():
    history = _history(5)
    published = chain.Published(4, history[3].chainhash or "")
    rewritten, previous = [], chain.GENESIS
    for stored in history:
        envelope = _event(2, {"n": 22}) if stored.sequence == 2 else stored.envelope
        assert envelope is not None
        previous = chain.link(previous, envelope)
        rewritten.append(chain.Stored(stored.sequence, envelope, previous))
    verdict = chain.verdict(rewritten, 5, published)
    assert verdict.broken_at == 4 and verdict.head == rewritten[-1].chainhash
