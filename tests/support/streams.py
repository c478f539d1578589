"""Reading what reached a JetStream stream, for assertions."""

import nats
from nats.js.errors import NotFoundError

from shared.contract import Envelope


async def stream_events(nats_url: str, stream: str) -> list[Envelope]:
    """Every message of ``stream``, in stream order, decoded."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            return []
        if info.state.messages == 0:
            return []
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            out.append(Envelope.from_bytes(msg.data))
        return out
    finally:
        await nc.close()
