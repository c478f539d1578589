"""A minimal HTTP/1.1 keep-alive client on asyncio streams, fast enough to be a load generator.

httpx spends more CPU per request than the services under test do (≤ 500 req/s here), so the
benchmarks speak HTTP themselves: one request at a time per connection, Content-Length bodies
out, Content-Length or chunked bodies back. Loopback only; no TLS, redirects or proxies.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self):
        return json.loads(self.body)


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP/1.1 message: its start line, headers (lower-case names) and body."""
    start_line = await reader.readuntil(b"\r\n")
    headers = {}
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = b""  # no body (204, 304, a GET), or one ended by closing: not spoken here
    return start_line, headers, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
        pass
    return b"".join(parts)


class Connection:
    """One keep-alive connection; reconnects once if the server closed an idle one.

    An answer slower than ``timeout`` seconds raises TimeoutError (an OSError) and drops the
    connection, so a stuck service cannot stall a benchmark.
    """

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
        self.timeout = timeout
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body=None, headers: dict[str, str] | None = None) -> Response:
        """Send one request (``body``: bytes, or anything JSON-serialisable) and read the whole answer."""
        payload = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(headers or {})}.items()]
        if body is not None:
            if not isinstance(body, bytes):
                lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(payload)}")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        fresh = self._writer is None
        try:
            return await self._exchange(raw)
        except (ConnectionError, asyncio.IncompleteReadError):
            if fresh:
                raise
            return await self._exchange(raw)  # the server had closed our idle connection

    async def _exchange(self, raw: bytes) -> Response:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._send(raw)
        except BaseException:
            await self.close()  # an interrupted exchange leaves the stream unusable
            raise

    async def _send(self, raw: bytes) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(raw)
        response = await self._read_response()
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _read_response(self) -> Response:
        if self._reader is None:  # _send opens the connection first
            raise ConnectionError("no connection to read a response from")
        status_line, headers, body = await read_message(self._reader)
        return Response(int(status_line.split(b" ", 2)[1]), headers, body)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


class ConnectionPool:
    """Up to ``size`` keep-alive connections shared by concurrent tasks."""

    def __init__(self, base_url: str, size: int, headers: dict[str, str] | None = None):
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()
        self._all = [Connection(base_url, headers) for _ in range(size)]
        for connection in self._all:
            self._idle.put_nowait(connection)

    async def request(self, method: str, path: str, body=None, headers: dict[str, str] | None = None) -> Response:
        connection = await self._idle.get()
        try:
            return await connection.request(method, path, body, headers)
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()
