"""A tiny in-process aiohttp server for check tests: real HTTP on 127.0.0.1, port 0.

    async with serve(app) as base:          # base == "http://127.0.0.1:PORT"
        ...

Also ``plan_from_toml`` / ``run_one_check``: write a TOML config to a temp dir, load it
through the real validator, and run a check with a real context, so that each test
exercises the config schema of the kind as a user would write it.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from gonogo.config import Plan, load_plan
from gonogo.context import CheckContext, make_context
from gonogo.model import CheckResult

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


def plan_from_toml(tmp_path: Path, body: str, name: str = "gonogo.toml") -> Plan:
    """Load a config whose ``[release]`` is supplied; ``body`` holds the rest."""
    text = '[release]\nname = "test"\ncommit = "abc1234"\n\n' + textwrap.dedent(body)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_plan(path)


async def run_check(
    plan: Plan, check_id: str, *, environ: dict[str, str] | None = None
) -> tuple[CheckResult, CheckContext]:
    """Run one check through the real runner (deadline, retries, redaction)."""
    from gonogo.runner import run_one

    ctx = make_context(plan, environ=environ if environ is not None else {})
    try:
        for gate, spec in plan.checks():
            if spec.id == check_id:
                return await run_one(gate, spec, ctx), ctx
        raise KeyError(check_id)
    finally:
        await ctx.aclose()


async def never_answer(request: web.Request) -> web.Response:
    """A handler that hangs until the client goes away (or the server stops)."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")
