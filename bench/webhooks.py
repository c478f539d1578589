"""People's webhook endpoints, in the bench process: answer 200 at once, note when pages arrive."""

from __future__ import annotations

import asyncio
import json
import time

from bench.loadclient import read_message

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class PageReceiver:
    """Keep-alive HTTP server on loopback; ``pages`` maps an incident id to its first page's arrival."""

    def __init__(self):
        self.pages: dict[str, float] = {}
        self.received = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> PageReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the page receiver has no address before start()")
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, _, body = await read_message(reader)
                at = time.monotonic()
                writer.write(OK)
                self.received += 1
                notice = json.loads(body or b"null")
                if isinstance(notice, dict) and notice.get("reason") == "paged":
                    self.pages.setdefault(str(notice.get("incident_id")), at)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the notifier closed the connection
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
