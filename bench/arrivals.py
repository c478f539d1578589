"""When events first reach a plain NATS subscriber: no consumer, no acknowledgement — the far end
of a delay measured end to end (a command's answer to its event, a due time to its timer event)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

Key = TypeVar("Key")
When = TypeVar("When")


class Arrivals(Generic[Key, When]):
    """Each event on ``subjects``, by ``key_of`` its envelope: when (``clock``) it first arrived, and the envelope."""

    def __init__(self, subjects: str, key_of: Callable[[dict[str, Any]], Key], clock: Callable[[], When]):
        self.subjects, self.key_of, self.clock = subjects, key_of, clock
        self.first: dict[Key, tuple[When, dict[str, Any]]] = {}
        self.nc: Client | None = None

    async def start(self, nats_url: str) -> None:
        self.nc = await nats.connect(nats_url)
        await self.nc.subscribe(self.subjects, cb=self._on_message, pending_msgs_limit=1_000_000)
        await self.nc.flush()

    async def _on_message(self, msg: Msg) -> None:
        at = self.clock()  # before parsing: the delay ends when the message is here
        envelope = json.loads(msg.data)
        self.first.setdefault(self.key_of(envelope), (at, envelope))

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()
