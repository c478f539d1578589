"""nats-py's parsing of a message's headers, made cheaper with the same result.

nats-py 2.16 parses every message's header block in Python, testing each character of every header name
with ``str.isspace`` in a generator: for a catch-up or a rebuild reading the streams — each message carries
``Nats-Msg-Id`` and more — that was about a third of the CPU the client spent a message. ``parse`` returns
the same mapping (tests/unit/test_nats_headers.py compares the two), testing a name for whitespace with one
``str.split``. ``install`` puts it in place of nats-py's (``shared/natsio.connect`` does, for every connection
of the process); a nats-py release that changes that method is caught by the same test.
"""

from nats.aio.client import Client

_CRLF = b"\r\n"


def parse(raw: bytes) -> dict[str, str]:
    """``Name: Value`` lines of a header block as a mapping, as ``Client._parse_header_lines`` makes it."""
    out: dict[str, str] = {}
    for line in raw.split(_CRLF):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue  # a name that is not ASCII: skipped, as nats-py skips it
        if key and key.split() != [key]:
            continue  # whitespace inside the name (what str.isspace finds, str.split splits on)
        out[key] = value.strip().decode("utf-8", "replace")
    return out


ORIGINAL = Client.__dict__["_parse_header_lines"]


def install() -> None:
    """Every nats-py client of this process parses headers with ``parse``."""
    Client._parse_header_lines = staticmethod(parse)  # type: ignore[method-assign]
