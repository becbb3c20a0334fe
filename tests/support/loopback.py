"""In-process aiohttp apps (stand-ins, test handlers) over real HTTP on 127.0.0.1:

    async with serve(app) as base:          # base == "http://127.0.0.1:PORT"
        ...

plus small handlers to build such apps (``app_with``, ``json_reply``, ``status_reply``,
``never_answer``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free loopback port; stop it (and its open handlers) on exit."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def app_with(routes: Mapping[str, Handler], method: str = "*") -> web.Application:
    """An app answering each path with its handler (any method unless told)."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route(method, path, handler)
    return app


def json_reply(data: Any, status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(data, status=status)

    return handler


def status_reply(status: int, text: str = "") -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=text or f"status {status}")

    return handler


async def never_answer(request: web.Request) -> web.Response:
    """A handler that hangs until the client goes away (or the server stops)."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")
