"""HTTP responses with a size cap and a deadline for the whole body.

httpx's timeouts are per network operation: a server that keeps sending (an endless
/health body) or drips one byte at a time never times out, and the body grows until
memory runs out. Every client gonogo builds wraps its transport in ``CappedTransport``:
a body over ``max_bytes`` is cut off with ``ResponseTooLarge``, and a body still
arriving after the request's own timeout (the ``read`` timeout httpx was given for
it, the plan's ``settings.timeout`` by default) ends with ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx

__all__ = ["CappedTransport", "ResponseTooLarge", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 8 * 1024 * 1024


class ResponseTooLarge(httpx.TransportError):
    """A response body over the cap; gonogo read no further."""


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request, limit: int,
                 deadline: float | None) -> None:
        self._inner = inner
        self._request = request
        self._limit = limit
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self._inner:
            total += len(chunk)
            if total > self._limit:
                where = self._where()
                raise ResponseTooLarge(
                    f"response body from {where} is over {self._limit // 1024} KiB; read no further",
                    request=self._request)
            if self._deadline is not None and time.monotonic() > self._deadline:
                where = self._where()
                raise httpx.ReadTimeout(
                    f"response body from {where} still arriving after the request's timeout",
                    request=self._request)
            yield chunk

    def _where(self) -> httpx.URL:
        # only for a message: parsing a URL again on every response is a large share of a
        # loopback request's cost
        return self._request.url.copy_with(query=None, userinfo=b"")

    async def aclose(self) -> None:
        await self._inner.aclose()


class CappedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self._inner = inner
        self._max = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        timeout = request.extensions.get("timeout", {})
        read = timeout.get("read") if isinstance(timeout, dict) else None
        deadline = started + 2 * float(read) if isinstance(read, int | float) else None
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code, headers=response.headers,
            stream=_CappedStream(response.stream, request, self._max, deadline),
            extensions=response.extensions, request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
