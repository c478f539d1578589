"""Pull requests to a JetStream consumer, their answers collected by a subscription callback.

nats-py's ``PullSubscription.fetch`` waits for every message in a task of its own (with a uuid4
name and a ``wait_for``): more than twice the CPU of everything else a message costs on its way
from the stream to an acknowledgement. Here a message costs one callback. The requests are
``fetch``'s: what is there now (``no_wait``), and only if that is nothing, a request that lingers
until messages arrive — answered in the loop's next turn after the first of them comes, with every
message read from the socket together with it, not when the batch is full or the wait over, so an
event reaching an idle consumer is applied at once. (nats-py hands a subscription's queued messages to
its callback one after another without yielding, so a burst read at once is all in before that turn.)

Used by the consumer loop (``shared/consumer.py``, durable consumers, messages acknowledged by the
caller) and by rebuilds (``shared/rebuild.py``, ephemeral consumers that acknowledge nothing).
"""

import asyncio
import json

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import StatusCode
from nats.js.errors import APIError

# The answer to a pull request ends with its last message or one of these (nothing more to give now).
_ENDS = {StatusCode.NO_MESSAGES, StatusCode.REQUEST_TIMEOUT, StatusCode.CONFLICT}


class Pull:
    """A consumer's messages, ``batch`` at a time, on an inbox of this connection (``async with``).

    At most one request is open at the server at a time. A lingering request answered by its first
    burst stays open there until it has brought ``batch`` messages or expired, and the next fetch waits
    on it instead of asking again: a new request each time left dozens open at once on an idle
    consumer, and each one's expiry ended the current wait early, so every event cost about eight
    pull requests (and their answers) in NATS and in the service."""

    def __init__(self, js: JetStreamContext, stream: str, consumer: str):
        # nats-py has no public accessors for a context's connection and API prefix.
        self._nc, self._next = js._nc, f"{js._prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = self._nc.new_inbox()
        # Kept across fetches: a message of the open request that came after its answer belongs to
        # the next batch — dropped here, it would come again only after the acknowledgement wait, or
        # never from a consumer that acknowledges nothing.
        self._received: list[Msg] = []
        self._wanted = 0
        self._open = 0  # messages the open request may still bring (0: none open)
        self._lingering = False
        self._answered: asyncio.Future[None] | None = None

    async def __aenter__(self) -> "Pull":
        self._sub = await self._nc.subscribe(self._inbox, cb=self._receive)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._sub.unsubscribe()

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to about ``batch`` messages: those available now, else those arriving within ``timeout``."""
        if not self._received and not self._open:
            if messages := await self._ask({"batch": batch, "no_wait": True}, batch, timeout):
                return messages
            await self._request({"batch": batch, "expires": int(timeout * 1e9)}, batch)
        if not self._received:
            # The open request's first burst, its end (expired: nothing came), or, should its end be
            # lost, our own deadline a second after the server's.
            self._lingering = True
            try:
                await self._wait(batch, timeout + 1)
            except TimeoutError:
                self._open = 0
            finally:
                self._lingering = False
        messages, self._received = self._received, []
        return messages

    def take_received(self) -> list[Msg]:
        """The messages received and not yet handed out by a fetch (one cancelled while they came)."""
        messages, self._received = self._received, []
        return messages

    async def _ask(self, request: dict[str, object], batch: int, timeout: float) -> list[Msg]:
        """A request answered at once (``no_wait``): its messages, up to its end."""
        await self._request(request, batch)
        try:
            await self._wait(batch, timeout)
        except TimeoutError:
            self._open = 0  # what came so far (perhaps nothing) is the answer
        messages, self._received = self._received, []
        return messages

    async def _request(self, request: dict[str, object], batch: int) -> None:
        self._open = batch
        await self._nc.publish(self._next, json.dumps(request).encode(), reply=self._inbox)

    async def _wait(self, batch: int, timeout: float) -> None:
        self._wanted, self._answered = batch, asyncio.get_running_loop().create_future()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that coincides with
            # the answer, and a consumer loop that ignores its cancellation hangs its service's shutdown.
            async with asyncio.timeout(timeout):
                await self._answered
        finally:
            self._answered = None

    async def _receive(self, msg: Msg) -> None:
        status = JetStreamContext.is_status_msg(msg)
        if status is None:
            self._received.append(msg)
            self._open = max(0, self._open - 1)
            if len(self._received) >= self._wanted or not self._open:
                self._answer(None)
            elif self._lingering and len(self._received) == 1 and self._answered is not None:
                asyncio.get_running_loop().call_soon(_settle, self._answered)
        elif status in _ENDS:
            self._open = 0
            self._answer(None)
        elif status != StatusCode.CONTROL_MESSAGE:  # a heartbeat says nothing; anything else is an error
            self._open = 0
            try:
                APIError.from_msg(msg)
            except APIError as error:
                self._answer(error)

    def _answer(self, error: Exception | None) -> None:
        if self._answered is not None:
            _settle(self._answered, error)


def _settle(answered: "asyncio.Future[None]", error: Exception | None = None) -> None:
    """Answer this request (not a later one: the turn that settles a burst may come after its request was answered)."""
    if not answered.done():
        if error is None:
            answered.set_result(None)
        else:
            answered.set_exception(error)
