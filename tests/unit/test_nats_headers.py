"""shared/nats_headers.py parses a message's headers exactly as nats-py does, and is the parser in use."""

import nats.aio.client

from shared import nats_headers

BLOCKS = [
    b"",
    b"\r\n",
    b"Nats-Msg-Id: 8f0c6a6e-6d8b-5f7e-9a51-3b0f1f0a2c11\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-"
    b"b7ad6b7169203331-01\r\n\r\n",
    b"Name:Value\r\nTabbed:\tvalue\t\r\nEmpty:\r\n",
    b"No colon here\r\nA B: inner space\r\nA\tB: inner tab\r\n\x1cSep: separator\r\nSep\x1f: unit\r\n",
    b": no name\r\n  Padded  :  padded value  \r\nColon: a:b:c\r\n",
    b"Caf\xc3\xa9: non-ASCII name\r\nUtf: caf\xc3\xa9\r\nBroken: \xff\xfe\r\n",
    b"Dup: one\r\nDup: two\r\n",
]


def test_the_cheaper_parser_gives_what_nats_py_gives_for_every_kind_of_header_line():
    original = nats_headers.ORIGINAL.__func__
    for block in BLOCKS:
        assert nats_headers.parse(block) == original(block), block


def test_connect_installs_it_for_every_client_of_the_process():
    nats_headers.install()
    assert nats.aio.client.Client._parse_header_lines is nats_headers.parse
