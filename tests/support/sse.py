"""The incident service over a real socket (an in-process uvicorn), and a reader of its Server-Sent Events.

httpx's ASGI transport hands a response over only once it is complete, which a live stream never is:
streams are read over HTTP from a server on a free port, lifespan and all."""

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from tests.support.incident import ADMIN_TOKEN, settings
from tools.localstack import free_port

SSE = {"Accept": "text/event-stream"}


@asynccontextmanager
async def served(database_url: str, nats_url: str, **overrides):
    """The incident service listening on 127.0.0.1: (client with the admin's token, app)."""
    from services.incident.bootstrap import create_app

    app = create_app(settings(database_url, nats_url, **overrides))
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on")
    config.timeout_graceful_shutdown = 2
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{config.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            yield client, app
    finally:
        server.should_exit = True
        await task


@dataclass
class Message:
    """One Server-Sent Event, or a comment line (``comment`` set, the rest empty)."""

    id: str | None = None
    event: str | None = None
    data: str = ""
    comment: str | None = None
    retry: int | None = None

    def cloud_event(self) -> dict:
        return json.loads(self.data)


class EventStream:
    """Reads a ``text/event-stream`` response message by message."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = 5.0) -> Message:
        async with asyncio.timeout(timeout):
            return await self._read()

    async def _read(self) -> Message:
        message = Message()
        data: list[str] = []
        async for line in self.lines:
            if line == "":
                if message.comment is not None or data or message.id or message.event or message.retry is not None:
                    message.data = "\n".join(data)
                    return message
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                message.comment = value
            elif field == "data":
                data.append(value)
            elif field == "retry":
                message.retry = int(value)
            else:
                setattr(message, field, value)
        raise EOFError("the stream ended")

    async def events(self, count: int, timeout: float = 10.0) -> list[Message]:
        """The next ``count`` events, skipping comments and the reconnection hint."""
        out: list[Message] = []
        async with asyncio.timeout(timeout):
            while len(out) < count:
                message = await self._read()
                if message.event is not None:
                    out.append(message)
        return out

    async def until(self, predicate, timeout: float = 10.0) -> list[Message]:
        """Events up to and including the first for which ``predicate(message)`` holds."""
        out: list[Message] = []
        async with asyncio.timeout(timeout):
            while True:
                message = await self._read()
                if message.event is not None:
                    out.append(message)
                    if predicate(message):
                        return out


@asynccontextmanager
async def stream(client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None, **params):
    """An open event stream of ``path``; asserts it opened (200, text/event-stream)."""
    async with client.stream("GET", path, headers={**SSE, **(headers or {})}, params=params, timeout=None) as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"{response.status_code}: {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)
