"""An ``httpx`` transport over aiohttp's connection pool, and when each request left.

Checks keep talking to ``httpx.AsyncClient`` (``ctx.http``; tests inject an
``httpx.MockTransport``); only the network underneath changes. httpcore's pool scans
every pooled connection on every request (a readability probe each, through anyio),
so a check fanning out to many services spends its time there: 1,000 GETs to 10
loopback servers took 1.6 s with 10 in flight and 9.8 s with 100, against 0.26 s for
aiohttp's pool (C parser, per-host queues) on the same machine.

Each response carries ``extensions["gonogo.sent_at"]``: the ``time.perf_counter()``
instant its request got a connection — after any wait for a free one — so that a
latency measured from there is the service's, never the client's queue.

aiohttp is imported on the first request (it costs ~0.2 s; ``runner.warm_up``
imports it in a worker thread first).
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

__all__ = ["AiohttpTransport", "SENT_AT"]

SENT_AT = "gonogo.sent_at"
CHUNK = 64 * 1024


class _Sent:
    """Per-request trace context: when the request got its connection."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None


async def _on_connection(session: Any, trace: Any, params: Any) -> None:
    sent = trace.trace_request_ctx
    if isinstance(sent, _Sent):
        sent.at = time.perf_counter()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``httpx`` requests sent through one ``aiohttp.ClientSession`` per event loop.

    No redirects, cookies, decompression or extra headers of its own: the httpx
    client does all of that, as over its default transport. Errors come back as the
    httpx exceptions the runner and ``describe_error`` know.
    """

    def __init__(self, *, max_connections: int = 100, verify: bool = True) -> None:
        self._limit = max_connections
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_for(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        if self._session is not None and self._loop is loop and not self._session.closed:
            return self._session
        import aiohttp

        trace = aiohttp.TraceConfig()
        trace.on_connection_reuseconn.append(_on_connection)
        trace.on_connection_create_start.append(_on_connection)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._limit, ssl=self._verify),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trace_configs=[trace],
            trust_env=False,
        )
        self._loop = loop
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp
        from multidict import CIMultiDict
        from yarl import URL

        session = self._session_for(asyncio.get_running_loop())
        headers: CIMultiDict[str] = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers.raw
            if k.lower() != b"transfer-encoding"  # the body is sent whole below
        )
        body = await request.aread()
        url = request.url
        if url.userinfo:  # httpx has made it an Authorization header already
            url = url.copy_with(userinfo=b"")
        sent = _Sent()
        try:
            response = await session.request(
                request.method,
                URL(str(url), encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                timeout=_timeout(request),
                trace_request_ctx=sent,
                # httpx's verification (certifi's CAs), loaded on the first https request
                ssl=_tls() if self._verify and request.url.scheme == "https" else self._verify,
            )
        except aiohttp.ClientError as exc:
            raise _mapped(exc, request, connecting=True) from exc
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out connecting", request=request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions={
                "http_version": f"HTTP/{response.version.major}.{response.version.minor}".encode()
                if response.version is not None else b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
                SENT_AT: sent.at if sent.at is not None else time.perf_counter(),
            },
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                await session.close()
            except RuntimeError:  # its event loop is gone: nothing left to close
                pass


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except aiohttp.ClientError as exc:
            raise _mapped(exc, self._request, connecting=False) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading", request=self._request) from exc

    async def aclose(self) -> None:
        self._response.release()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying context per process: loading the CA bundle costs 50-100 ms."""
    return httpx.create_ssl_context()


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    import aiohttp

    given = request.extensions.get("timeout", {})
    given = given if isinstance(given, dict) else {}
    connect, read, pool = given.get("connect"), given.get("read"), given.get("pool")
    # aiohttp's ``connect`` covers the wait for a pooled connection and the connect itself
    acquire = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)


def _mapped(exc: Exception, request: httpx.Request, *, connecting: bool) -> httpx.HTTPError:
    import aiohttp

    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
    if isinstance(exc, connect_timeout):
        return httpx.ConnectTimeout(str(exc) or "timed out connecting", request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out reading", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = getattr(exc, "os_error", None)  # not on certificate errors
        errno = getattr(os_error, "errno", None)
        why = os.strerror(errno) if errno else str(os_error or exc)
        return httpx.ConnectError(why, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("server disconnected without sending a complete response",
                                         request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(str(exc), request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientOSError):
        cls = httpx.ConnectError if connecting else httpx.ReadError
        return cls(str(exc), request=request)
    return (httpx.ConnectError if connecting else httpx.ReadError)(str(exc), request=request)
