"""A loopback receiver for notifications: records every request (path, headers, JSON
body, arrival time) and answers per path as the test decides — 200, a status, a
hang, or an echo of the request's headers (a hostile receiver quoting secrets back).

    rx = Receiver()
    rx.answer("/slack", status=500)
    rx.answer("/hang", hang=True)
    async with serve(rx.app) as base:
        ...
    rx.bodies("/hook")  # the JSON bodies received on /hook, in order
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    text: str
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Behaviour:
    status: int = 200
    hang: bool = False
    echo: bool = False  # answer with the request's headers and body quoted back
    fail_first: int = 0  # answer ``status`` this many times, then 200
    text: str = "ok"
    retry_after: str = ""
    seen: int = 0


@dataclass
class Receiver:
    received: list[Received] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    def answer(self, path: str, **how: Any) -> None:
        self.behaviours[path] = Behaviour(**how)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        self.received.append(Received(request.path, dict(request.headers), text, time.time()))
        how = self.behaviours.get(request.path, Behaviour())
        how.seen += 1
        if how.hang:
            await asyncio.Event().wait()
        headers = {"Retry-After": how.retry_after} if how.retry_after else {}
        if how.echo:
            said = request.headers.get("Authorization", "")  # the credential first
            quoted = json.dumps({"authorization": said, "headers": dict(request.headers), "body": text})
            return web.Response(status=how.status, text=quoted, headers=headers)
        if how.fail_first and how.seen > how.fail_first:
            return web.Response(status=200, text="ok")
        return web.Response(status=how.status, text=how.text, headers=headers)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def bodies(self, path: str) -> list[Any]:
        return [r.json for r in self.on(path)]
